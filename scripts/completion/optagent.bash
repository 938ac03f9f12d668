# bash completion for optagent(1): commands, each command's options, the
# values of the options that take a fixed set, and file names where a
# command takes files (formulations *.json, benchmarks *.json[l],
# databases *.db). Installed by `make install` into
# $(PREFIX)/share/bash-completion/completions/optagent; to try it from the
# source tree: `. scripts/completion/optagent.bash`.

_optagent_commands="solve show ask batch eval runs merge learn repl library serve mcp help version"

_optagent_llm_opts="--base-url --model --api-key-file --config --temperature --max-tokens --seed --timeout"
_optagent_lib_opts="--library --no-library --retrieve -k"

# The options of command $1.
_optagent_options()
{
    case $1 in
    solve) echo "--json --check --sensitivity --explain --solver --starts --time-limit --mip-gap --no-presolve --export --help" ;;
    show) echo "--help" ;;
    ask) echo "-f --json --show-model --show-prompts --max-corrections --prompts-dir --time-limit $_optagent_lib_opts $_optagent_llm_opts --help" ;;
    batch|learn) echo "--db --out -j --format --resume --shard --limit --match --samples --no-cache --offline --llm --max-corrections --time-limit --progress --no-progress $_optagent_lib_opts $_optagent_llm_opts --help" ;;
    eval) echo "--db --match --format -o --compare --help" ;;
    runs) echo "--db --json --help" ;;
    merge) echo "--help" ;;
    repl) echo "--max-corrections --prompts-dir --time-limit $_optagent_lib_opts $_optagent_llm_opts --help" ;;
    serve) echo "--listen --token-file --insecure --threads --data-dir --db --max-body --request-timeout --max-jobs $_optagent_lib_opts $_optagent_llm_opts --help" ;;
    mcp) echo "--time-limit $_optagent_lib_opts $_optagent_llm_opts --help" ;;
    library) echo "--library --json -k -o --llm $_optagent_llm_opts --help" ;;
    esac
}

# The runs of the database the command line names (--db, else
# optagent-runs.db): their ids and uuid prefixes, from `optagent runs`.
# Nothing when the file does not exist (runs would refuse it anyway).
_optagent_runs()
{
    local db=optagent-runs.db i
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == --db ]] && db=${COMP_WORDS[i+1]}
        [[ ${COMP_WORDS[i]} == --db=* ]] && db=${COMP_WORDS[i]#--db=}
    done
    [[ -f $db ]] || return 0
    "${COMP_WORDS[0]}" runs --db "$db" 2>/dev/null | awk 'NR > 1 { print $1; print $2 }'
}

_optagent()
{
    local cur prev cmd i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version --verbose --quiet -v -q" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_optagent_commands" -- "$cur"))
        fi
        return 0
    fi
    # values of the options that take one
    case $prev in
    --db|--library)
        COMPREPLY=($(compgen -f -X '!*.db' -- "$cur") $(compgen -d -- "$cur")); return 0 ;;
    --format)
        if [[ $cmd == eval ]]; then COMPREPLY=($(compgen -W "markdown json html" -- "$cur"))
        else COMPREPLY=($(compgen -W "auto alphaopt llmopt optmath optibench plain" -- "$cur")); fi
        return 0 ;;
    --match) COMPREPLY=($(compgen -W "default alphaopt orlm optibench" -- "$cur")); return 0 ;;
    --solver) COMPREPLY=($(compgen -W "auto glpk ipopt enum" -- "$cur")); return 0 ;;
    --retrieve) COMPREPLY=($(compgen -W "bm25 llm" -- "$cur")); return 0 ;;
    --llm) COMPREPLY=($(compgen -W "replay:" -- "$cur")); compopt -o nospace 2>/dev/null; return 0 ;;
    --prompts-dir) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
    -o|--out|--export|-f|--api-key-file|--config)
        COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    --resume|--compare)
        COMPREPLY=($(compgen -W "$(_optagent_runs)" -- "$cur")); return 0 ;;
    --time-limit|--mip-gap|-j|-k|--limit|--samples|--shard|--max-corrections|\
    --base-url|--model|--temperature|--max-tokens|--seed|--timeout)
        return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_optagent_options "$cmd")" -- "$cur"))
        return 0
    fi
    case $cmd in
    solve|show)
        COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur")) ;;
    batch|learn)
        COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -f -X '!*.jsonl' -- "$cur")
                   $(compgen -d -- "$cur")) ;;
    merge)
        COMPREPLY=($(compgen -f -X '!*.db' -- "$cur") $(compgen -d -- "$cur")) ;;
    eval)
        COMPREPLY=($(compgen -W "$(_optagent_runs)" -- "$cur")) ;;
    library)
        COMPREPLY=($(compgen -W "list show search add edit rm export import stats refine" -- "$cur")) ;;
    help)
        COMPREPLY=($(compgen -W "$_optagent_commands" -- "$cur")) ;;
    esac
    return 0
}

complete -o filenames -F _optagent optagent
