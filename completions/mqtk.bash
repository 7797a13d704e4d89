# bash completion for mqtk, mqtk-pub, mqtk-sub, mqtk-retain-clear, mqtk-sys-monitor and mqtk-bench  -*- shell-script -*-
#
# Installed as /usr/share/bash-completion/completions/mqtk, with mqtk-pub,
# mqtk-sub, mqtk-retain-clear, mqtk-sys-monitor and mqtk-bench linked to it
# there, so that bash-completion loads it for any of them (cmake --install
# does that); or source it from ~/.bashrc.

_mqtk_common_opts='-h --host -p --port -L --url -i --id -I --id-prefix
    -k --keepalive -c --disable-clean-session -x --session-expiry-interval
    -V --protocol-version -u --username -P --pw --pw-file --will-topic --will-payload
    --will-qos --will-retain -d --debug --quiet --connect-timeout -M --nodelay
    --cafile --capath --cert --key --keyform --ciphers --tls-version --tls-alpn
    --insecure --tls-use-os-certs --psk --psk-identity -D --property
    --config --no-config --color --help --version'
# Not offered: flags every tool refuses (-A, --unix, --proxy, --tls-engine,
# --tls-engine-kpass-sha1).

# -D COMMAND NAME VALUE: the properties each command takes (mosquitto's).
_mqtk_property_names() {
    case $1 in
        connect) echo 'session-expiry-interval authentication-method authentication-data
            request-problem-information request-response-information receive-maximum
            topic-alias-maximum maximum-packet-size user-property' ;;
        publish) echo 'payload-format-indicator message-expiry-interval content-type
            response-topic correlation-data topic-alias user-property' ;;
        will) echo 'payload-format-indicator message-expiry-interval content-type
            response-topic correlation-data will-delay-interval user-property' ;;
        subscribe) echo 'subscription-identifier user-property' ;;
        unsubscribe) echo 'user-property' ;;
        disconnect) echo 'session-expiry-interval server-reference reason-string user-property' ;;
    esac
}

_mqtk_pub_opts='-t --topic -m --message -f --file -s --stdin-file
    -l --stdin-line --json-lines -n --null-message -q --qos -r --retain
    --repeat --repeat-delay --fields --header
    --no-reconnect --reconnect-timeout --max-buffer'

# Filters and alerts, in mqtk-pub and mqtk-sub (mqtk-retain-clear has --where).
_mqtk_rule_opts='--where --alert-topic --alert-when --alert-message --edge
    --rearm --cooldown --shared-alert-state --rate'

_mqtk_sub_opts='-t --topic -T --filter-out -U --unsubscribe -q --qos
    -C --count -W --timeout -R --no-stale --retained-only
    -E --exit-after-subscribe --remove-retained --random-filter
    --no-local --retain-as-published --retain-handling
    -v --verbose -N --no-eol -F --format -j --json --pretty
    --plot --plot-svg --window --ymin --ymax
    --exec-jobs --exec-queue --exec-when-full --exec-timeout --exec-on --exec
    --no-reconnect --reconnect-timeout'

_mqtk_retain_clear_opts='-t --topic -T --filter-out --where --max
    --dry-run --backup -y --yes -j --json --quiet-time --timeout --marker-topic'

_mqtk_sys_monitor_opts='-t --topic --once --timeout -j --json --format
    --output --listen --warn-when --alert-when --alert-topic'

# mqtk-bench: a subcommand first, then its options. Its connection flags are
# the common ones without -i, -c (-c is --clients) and -x; -D is --duration.
_mqtk_bench_commands='pub sub conn pubsub merge'
_mqtk_bench_connection_opts='-h --host -p --port -L --url -I --id-prefix
    -k --keepalive -V --protocol-version -u --username -P --pw --pw-file --will-topic
    --will-payload --will-qos --will-retain -d --debug --quiet --connect-timeout
    -M --nodelay -A
    --cafile --capath --cert --key --keyform --ciphers --tls-version --tls-alpn
    --insecure --tls-use-os-certs --psk --psk-identity'
_mqtk_bench_load_opts='-c --clients --id-offset --connect-rate --start-at --no-sys'
_mqtk_bench_result_opts='-j --json -o --output --csv --slo --color'
_mqtk_bench_publish_opts='-n --count -D --duration --rate -s --size -q --qos
    -t --topic --warmup -r --retain --drain --realtime-stamps'
_mqtk_bench_sub_opts='-t --topic -q --qos -n --count -D --duration --shared'
_mqtk_bench_pubsub_opts='--subscribers --sub-topic --sub-qos --shared'

_mqtk_bench()
{
    local cur=$1 prev=$2
    local i command=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            pub | sub | conn | pubsub | merge)
                command=${COMP_WORDS[i]}
                break
                ;;
        esac
    done

    if [[ -z $command ]]; then
        if [[ $prev == --config ]]; then
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '--help --version --config --no-config --color' -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_mqtk_bench_commands" -- "$cur"))
        fi
        return
    fi

    case $prev in
        --color)
            COMPREPLY=($(compgen -W 'auto always never' -- "$cur"))
            return
            ;;
        -q | --qos | --sub-qos | --will-qos)
            COMPREPLY=($(compgen -W '0 1 2' -- "$cur"))
            return
            ;;
        -V | --protocol-version)
            COMPREPLY=($(compgen -W '31 311 5 mqttv31 mqttv311 mqttv5' -- "$cur"))
            return
            ;;
        --tls-version)
            COMPREPLY=($(compgen -W 'tlsv1.3 tlsv1.2 tlsv1.1' -- "$cur"))
            return
            ;;
        --keyform)
            COMPREPLY=($(compgen -W 'pem' -- "$cur"))
            return
            ;;
        -o | --output | --csv | --cafile | --cert | --key | --pw-file)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --capath)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        -h | --host | -A)
            COMPREPLY=($(compgen -A hostname -- "$cur"))
            return
            ;;
        -L | --url)
            # ws:// and wss:// are refused: libmosquitto 2.0 has no websockets.
            COMPREPLY=($(compgen -W 'mqtt:// mqtts://' -- "$cur"))
            compopt -o nospace 2>/dev/null
            return
            ;;
        -p | --port | -I | --id-prefix | -k | --keepalive | -u | --username | \
        -P | --pw | --will-topic | --will-payload | --connect-timeout | -M | \
        --ciphers | --tls-alpn | -c | --clients | --id-offset | --connect-rate | \
        --start-at | --slo | -n | --count | -D | --duration | --rate | -s | \
        --size | -t | --topic | --warmup | --drain | --subscribers | \
        --sub-topic | --shared | \
        --unix | --proxy | --tls-engine | --tls-engine-kpass-sha1 | \
        --psk | --psk-identity | --property)
            # A free-form value: nothing sensible to offer.
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        local opts='--help'
        case $command in
            pub) opts+=" $_mqtk_bench_connection_opts $_mqtk_bench_load_opts $_mqtk_bench_result_opts
                 $_mqtk_bench_publish_opts" ;;
            sub) opts+=" $_mqtk_bench_connection_opts $_mqtk_bench_load_opts $_mqtk_bench_result_opts
                 $_mqtk_bench_sub_opts" ;;
            conn) opts+=" $_mqtk_bench_connection_opts $_mqtk_bench_load_opts $_mqtk_bench_result_opts
                 -D --duration" ;;
            pubsub) opts+=" $_mqtk_bench_connection_opts $_mqtk_bench_load_opts $_mqtk_bench_result_opts
                 $_mqtk_bench_publish_opts $_mqtk_bench_pubsub_opts" ;;
            merge) opts+=" --quiet $_mqtk_bench_result_opts" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ $command == merge ]]; then
        # Result files (-o, -j): *.json, and directories to reach them.
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
    fi
}

_mqtk()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -n = || return
    else
        COMPREPLY=()
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
    fi

    local tool=${1##*/}

    if [[ $tool == mqtk-bench ]]; then
        _mqtk_bench "$cur" "$prev"
        return
    fi

    # mqtk-sub --exec CMD [ARGS...]: every word after --exec belongs to the
    # command, so complete it as a command line of its own.
    if [[ $tool == mqtk-sub ]]; then
        local i
        for ((i = 1; i < COMP_CWORD; i++)); do
            if [[ ${COMP_WORDS[i]} == --exec ]]; then
                if declare -F _command_offset >/dev/null 2>&1; then
                    _command_offset $((i + 1))
                elif ((COMP_CWORD == i + 1)); then
                    COMPREPLY=($(compgen -c -- "$cur"))
                else
                    compopt -o default 2>/dev/null
                    COMPREPLY=()
                fi
                return
            fi
        done
    fi

    # mqtk-sys-monitor: --format takes a word (mqtk-sub's -F a free format).
    if [[ $tool == mqtk-sys-monitor ]]; then
        case $prev in
            --format)
                COMPREPLY=($(compgen -W 'live text json prometheus' -- "$cur"))
                return
                ;;
            --output)
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
            --listen | --warn-when)
                return
                ;;
        esac
    fi

    if [[ $prev == -D || $prev == --property ]]; then
        COMPREPLY=($(compgen -W 'connect publish subscribe unsubscribe disconnect will' -- "$cur"))
        return
    fi
    if ((COMP_CWORD >= 3)) && [[ ${COMP_WORDS[COMP_CWORD-2]} == -D || ${COMP_WORDS[COMP_CWORD-2]} == --property ]]; then
        COMPREPLY=($(compgen -W "$(_mqtk_property_names "$prev")" -- "$cur"))
        return
    fi
    if ((COMP_CWORD >= 4)) && [[ ${COMP_WORDS[COMP_CWORD-3]} == -D || ${COMP_WORDS[COMP_CWORD-3]} == --property ]]; then
        case $prev in
            payload-format-indicator | request-problem-information | request-response-information)
                COMPREPLY=($(compgen -W '0 1' -- "$cur")) ;;
        esac
        return # a value (or a user property's name)
    fi
    if ((COMP_CWORD >= 5)) && [[ ${COMP_WORDS[COMP_CWORD-4]} == -D || ${COMP_WORDS[COMP_CWORD-4]} == --property ]] &&
        [[ ${COMP_WORDS[COMP_CWORD-2]} == user-property ]]; then
        return # a user property's value
    fi

    case $prev in
        -V | --protocol-version)
            COMPREPLY=($(compgen -W '31 311 5 mqttv31 mqttv311 mqttv5' -- "$cur"))
            return
            ;;
        --tls-version)
            COMPREPLY=($(compgen -W 'tlsv1.3 tlsv1.2 tlsv1.1' -- "$cur"))
            return
            ;;
        --color)
            COMPREPLY=($(compgen -W 'auto always never' -- "$cur"))
            return
            ;;
        -q | --qos | --will-qos | --retain-handling)
            COMPREPLY=($(compgen -W '0 1 2' -- "$cur"))
            return
            ;;
        --exec-on)
            COMPREPLY=($(compgen -W 'message alert' -- "$cur"))
            return
            ;;
        --exec-when-full)
            COMPREPLY=($(compgen -W 'wait drop' -- "$cur"))
            return
            ;;
        --keyform)
            COMPREPLY=($(compgen -W 'pem' -- "$cur"))
            return
            ;;
        -f | --file | --cafile | --cert | --key | --backup | --plot-svg | --pw-file | --config)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --capath)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        -h | --host | -A)
            COMPREPLY=($(compgen -A hostname -- "$cur"))
            return
            ;;
        -L | --url)
            COMPREPLY=($(compgen -W 'mqtt:// mqtts:// ws:// wss://' -- "$cur"))
            compopt -o nospace 2>/dev/null
            return
            ;;
        --unix)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        -p | --port | -i | --id | -I | --id-prefix | -k | --keepalive | \
        -x | --session-expiry-interval | -u | --username | -P | --pw | \
        --will-topic | --will-payload | --connect-timeout | -M | --ciphers | \
        --tls-alpn | --proxy | --tls-engine | --tls-engine-kpass-sha1 | \
        --psk | --psk-identity | -D | --property | \
        -t | --topic | -m | --message | --repeat | --repeat-delay | \
        -T | --filter-out | -U | --unsubscribe | -C | --count | -W | --timeout | \
        --random-filter | -F | --format | --fields | --where | --alert-topic | \
        --alert-when | --alert-message | --rearm | --cooldown | --rate | \
        --exec-jobs | --exec-queue | --exec-timeout | --max | --quiet-time | --marker-topic | \
        --reconnect-timeout | --max-buffer | \
        --plot | --window | --ymin | --ymax)
            # A free-form value: nothing sensible to offer.
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        local opts=$_mqtk_common_opts
        case $tool in
            mqtk-pub) opts+=" $_mqtk_pub_opts $_mqtk_rule_opts" ;;
            mqtk-sub) opts+=" $_mqtk_sub_opts $_mqtk_rule_opts" ;;
            mqtk-retain-clear) opts+=" $_mqtk_retain_clear_opts" ;;
            mqtk-sys-monitor) opts+=" $_mqtk_sys_monitor_opts" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}

# The tools `mqtk TOOL` runs (mqtk --help lists them).
_mqtk_tools='pub sub retain-clear sys-monitor bench'

# mqtk TOOL ARGS...: the tool first, then ARGS as mqtk-TOOL's.
_mqtk_front()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    if ((COMP_CWORD == 1)); then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_mqtk_tools" -- "$cur"))
        fi
        return
    fi
    case ${COMP_WORDS[1]} in
        -*) return ;; # --help and --version take nothing
    esac
    local tool=mqtk-${COMP_WORDS[1]}
    if [[ " $_mqtk_tools " != *" ${COMP_WORDS[1]} "* ]]; then
        # A tool of someone else's on PATH: its own completion, if it has one.
        if declare -F _command_offset >/dev/null 2>&1; then
            COMP_WORDS[1]=$tool
            _command_offset 1
        fi
        return
    fi
    # Rewrite "mqtk TOOL ..." as "mqtk-TOOL ..." for _mqtk and
    # bash-completion's word splitting (COMP_LINE, COMP_POINT).
    local head=${COMP_LINE%%"${COMP_WORDS[1]}"*}${COMP_WORDS[1]}
    COMP_LINE=$tool${COMP_LINE:${#head}}
    ((COMP_POINT -= ${#head} - ${#tool}))
    COMP_WORDS=("$tool" "${COMP_WORDS[@]:2}")
    ((COMP_CWORD--))
    _mqtk "$tool" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}

complete -F _mqtk mqtk-pub mqtk-sub mqtk-retain-clear mqtk-sys-monitor mqtk-bench
complete -F _mqtk_front mqtk
