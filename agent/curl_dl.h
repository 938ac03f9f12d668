/* curl_dl — libcurl loaded on first use (see curl_dl.c): the binary does not
 * link libcurl, so commands that never open a connection never load it. */
#ifndef OPTAGENT_CURL_DL_H
#define OPTAGENT_CURL_DL_H

/* NULL when libcurl is loaded (loading it now if needed), else why it could
 * not be: a static string, valid for the life of the process. */
const char *ag_curl_load_error(void);

#endif
