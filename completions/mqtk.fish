# fish completion for mqtk, mqtk-pub, mqtk-sub, mqtk-retain-clear,
# mqtk-sys-monitor and mqtk-bench.
#
# fish loads a command's completions from CMD.fish in $fish_complete_path,
# so cmake --install puts this file in /usr/share/fish/vendor_completions.d
# as mqtk.fish and links mqtk-pub.fish, mqtk-sub.fish, ... to it. Each load
# defines every tool's completions again, which replaces them.

# Not offered: flags every tool refuses (-A but in mqtk-bench, --unix,
# --proxy, --tls-engine, --tls-engine-kpass-sha1).

# True when the command line holds --exec before the word being completed
# and after it the command's name (mqtk-sub: every word after it is the
# command's).
function __mqtk_after_exec
    set -l tokens (commandline -opc)
    set -l i (contains -i -- --exec $tokens); or return 1
    test $i -lt (count $tokens)
end

# The words after mqtk-sub's --exec, completed as a command line of their own.
function __mqtk_exec_arguments
    set -l tokens (commandline -opc)
    set -l i (contains -i -- --exec $tokens)
    __fish_complete_subcommand --commandline (string escape -- $tokens[(math $i + 1)..-1]) (commandline -ct)
end

# -D/--property COMMAND NAME VALUE: which of the three the word is. Prints
# "name COMMAND" or "value NAME", or returns 1 when the word is none.
function __mqtk_property_word
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    for back in 1 2 3
        test $n -gt $back; or return 1
        if contains -- $tokens[(math $n - $back + 1)] -D --property
            switch $back
                case 1
                    return 1 # the command: the option's own values
                case 2
                    printf '%s\n' name $tokens[$n]
                    return 0
                case 3
                    printf '%s\n' value $tokens[$n]
                    return 0
            end
        end
    end
    return 1
end

function __mqtk_property_completions
    set -l word (__mqtk_property_word); or return
    switch $word[1]
        case name
            switch $word[2]
                case connect
                    printf '%s\n' session-expiry-interval authentication-method authentication-data \
                        request-problem-information request-response-information receive-maximum \
                        topic-alias-maximum maximum-packet-size user-property
                case publish
                    printf '%s\n' payload-format-indicator message-expiry-interval content-type \
                        response-topic correlation-data topic-alias user-property
                case will
                    printf '%s\n' payload-format-indicator message-expiry-interval content-type \
                        response-topic correlation-data will-delay-interval user-property
                case subscribe
                    printf '%s\n' subscription-identifier user-property
                case unsubscribe
                    printf '%s\n' user-property
                case disconnect
                    printf '%s\n' session-expiry-interval server-reference reason-string user-property
            end
        case value
            switch $word[2]
                case payload-format-indicator request-problem-information request-response-information
                    printf '%s\n' 0 1
            end
    end
end

# mqtk-bench merge's arguments: result files (*.json) and directories.
function __mqtk_result_files
    set -l prefix (commandline -ct)
    set -l found $prefix*.json $prefix*/
    printf '%s\n' $found
end

# The connection and TLS options of every tool, for command $cmd when
# condition $cond holds. $kind "bench": mqtk-bench's set (no -i, -c, -x or
# -D/--property; -A binds; no websockets).
function __mqtk_connection_options -a cmd cond kind
    complete -c $cmd -n $cond -s h -l host -x -a '(__fish_print_hostnames)' -d 'Broker host name or address'
    complete -c $cmd -n $cond -s p -l port -x -d 'Broker port'
    complete -c $cmd -n $cond -s I -l id-prefix -x -d 'Client id prefix'
    complete -c $cmd -n $cond -s k -l keepalive -x -d 'Keepalive interval in seconds'
    complete -c $cmd -n $cond -s V -l protocol-version -x -a '31 311 5 mqttv31 mqttv311 mqttv5' -d 'MQTT version'
    complete -c $cmd -n $cond -s u -l username -x -a '(__fish_complete_users)' -d 'User name (or MQTK_USERNAME)'
    complete -c $cmd -n $cond -s P -l pw -x -d 'Password (or MQTK_PASSWORD)'
    complete -c $cmd -n $cond -l pw-file -r -F -d 'Read the password from a file\'s first line'
    complete -c $cmd -n $cond -l will-topic -x -d 'Topic of the will message'
    complete -c $cmd -n $cond -l will-payload -x -d 'Payload of the will message'
    complete -c $cmd -n $cond -l will-qos -x -a '0 1 2' -d 'QoS of the will message'
    complete -c $cmd -n $cond -l will-retain -d 'Retain the will message'
    complete -c $cmd -n $cond -s d -l debug -d 'Print connection events on stderr'
    complete -c $cmd -n $cond -l quiet -d 'Print no error messages'
    complete -c $cmd -n $cond -l connect-timeout -x -d 'Seconds to wait for the connection'
    complete -c $cmd -n $cond -s M -x -d 'Most QoS 1 and 2 messages in flight'
    complete -c $cmd -n $cond -l nodelay -d 'Disable Nagle\'s algorithm (always disabled)'
    complete -c $cmd -n $cond -l cafile -r -F -d 'File of trusted CA certificates'
    complete -c $cmd -n $cond -l capath -x -a '(__fish_complete_directories (commandline -ct))' -d 'Directory of trusted CA certificates'
    complete -c $cmd -n $cond -l cert -r -F -d 'Client certificate (PEM)'
    complete -c $cmd -n $cond -l key -r -F -d 'Client private key (PEM)'
    complete -c $cmd -n $cond -l keyform -x -a pem -d 'Key format'
    complete -c $cmd -n $cond -l ciphers -x -d 'OpenSSL cipher list'
    complete -c $cmd -n $cond -l tls-version -x -a 'tlsv1.3 tlsv1.2 tlsv1.1' -d 'TLS protocol version'
    complete -c $cmd -n $cond -l tls-alpn -x -d 'ALPN protocol to ask for'
    complete -c $cmd -n $cond -l insecure -d 'Do not check the server\'s host name'
    complete -c $cmd -n $cond -l tls-use-os-certs -d 'Trust the system\'s CA certificates'
    complete -c $cmd -n $cond -l psk -x -d 'TLS-PSK key in hex, instead of certificates'
    complete -c $cmd -n $cond -l psk-identity -x -d 'TLS-PSK identity'
    if test "$kind" = bench
        complete -c $cmd -n $cond -s L -l url -x -a 'mqtt:// mqtts://' -d 'Broker as a URL (no websockets)'
        complete -c $cmd -n $cond -s A -x -a '(__fish_print_hostnames)' -d 'Local address to connect from'
    else
        complete -c $cmd -n $cond -s L -l url -x -a 'mqtt:// mqtts:// ws:// wss://' -d 'Broker as a URL'
        complete -c $cmd -n $cond -s i -l id -x -d 'Client id'
        complete -c $cmd -n $cond -s c -l disable-clean-session -d 'Keep the session after disconnecting'
        complete -c $cmd -n $cond -s x -l session-expiry-interval -x -d 'MQTT 5 session expiry in seconds'
        complete -c $cmd -n "$cond; and not __mqtk_property_word >/dev/null" -s D -l property -x \
            -a 'connect publish subscribe unsubscribe disconnect will' -d 'MQTT 5 property (implies -V 5)'
        complete -c $cmd -n "$cond; and __mqtk_property_word >/dev/null" -x -a '(__mqtk_property_completions)'
    end
    complete -c $cmd -n $cond -l help -d 'Print the options and exit'
    complete -c $cmd -n $cond -l color -x -a 'auto always never' -d 'Colour the output (auto: on a terminal)'
    if test "$kind" != bench # mqtk-bench has these before its subcommand only
        complete -c $cmd -n $cond -l version -d 'Print mqtk\'s and its libraries\' versions and exit'
        complete -c $cmd -n $cond -l config -r -F -d 'Read default options from this config file'
        complete -c $cmd -n $cond -l no-config -d 'Read no config file'
    end
end

# Filters and alerts (mqtk-pub and mqtk-sub); see mqtk-expressions(7).
function __mqtk_rule_options -a cmd cond
    complete -c $cmd -n $cond -l where -x -d 'Only messages matching the expression'
    complete -c $cmd -n $cond -l alert-topic -x -d 'Publish an alert to this topic'
    complete -c $cmd -n $cond -l alert-when -x -d 'Condition that raises an alert'
    complete -c $cmd -n $cond -l alert-message -x -d 'Alert payload template'
    complete -c $cmd -n $cond -l edge -d 'Alert only when the condition turns true'
    complete -c $cmd -n $cond -l rearm -x -d 'Condition that re-arms the alert (hysteresis)'
    complete -c $cmd -n $cond -l cooldown -x -d 'Seconds without alerts after an alert'
    complete -c $cmd -n $cond -l shared-alert-state -d 'One alert state for every topic'
    complete -c $cmd -n $cond -l rate -x -d 'At most N messages per second'
end

# mqtk-pub
complete -c mqtk-pub -f
__mqtk_connection_options mqtk-pub true
__mqtk_rule_options mqtk-pub true
complete -c mqtk-pub -s t -l topic -x -d 'Topic to publish to'
complete -c mqtk-pub -s m -l message -x -d 'Message payload'
complete -c mqtk-pub -s f -l file -r -F -d 'Send a file as one message'
complete -c mqtk-pub -s s -l stdin-file -d 'Send all of stdin as one message'
complete -c mqtk-pub -s l -l stdin-line -d 'Send each line of stdin as a message'
complete -c mqtk-pub -l json-lines -d 'Send each stdin line, a JSON object as mqtk-sub -j prints'
complete -c mqtk-pub -s n -l null-message -d 'Send an empty message'
complete -c mqtk-pub -s q -l qos -x -a '0 1 2' -d 'Quality of service'
complete -c mqtk-pub -s r -l retain -d 'Ask the broker to retain the message'
complete -c mqtk-pub -l repeat -x -d 'Publish the message N times'
complete -c mqtk-pub -l repeat-delay -x -d 'Seconds between repeats'
complete -c mqtk-pub -l fields -x -d 'With -l: JSON objects with these keys'
complete -c mqtk-pub -l header -d 'With -l: the first line names the fields'
complete -c mqtk-pub -l no-reconnect -d 'With -l: exit when the connection is lost'
complete -c mqtk-pub -l reconnect-timeout -x -d 'With -l: give up reconnecting after seconds (exit 7)'
complete -c mqtk-pub -l max-buffer -x -d 'With -l: most QoS 1/2 messages held until acknowledged'

# mqtk-sub: no option after --exec, whose words are a command line.
set -l sub 'not __mqtk_after_exec'
complete -c mqtk-sub -f
__mqtk_connection_options mqtk-sub $sub
__mqtk_rule_options mqtk-sub $sub
complete -c mqtk-sub -n $sub -s t -l topic -x -d 'Topic filter to subscribe to'
complete -c mqtk-sub -n $sub -s T -l filter-out -x -d 'Ignore messages matching this filter'
complete -c mqtk-sub -n $sub -s U -l unsubscribe -x -d 'Unsubscribe from this filter'
complete -c mqtk-sub -n $sub -s q -l qos -x -a '0 1 2' -d 'Subscription QoS'
complete -c mqtk-sub -n $sub -s C -l count -x -d 'Exit after this many messages'
complete -c mqtk-sub -n $sub -s W -l timeout -x -d 'Exit with status 27 after this many seconds'
complete -c mqtk-sub -n $sub -s R -l no-stale -d 'Do not print retained messages'
complete -c mqtk-sub -n $sub -l retained-only -d 'Print only retained messages'
complete -c mqtk-sub -n $sub -s E -l exit-after-subscribe -d 'Exit once subscribed'
complete -c mqtk-sub -n $sub -l remove-retained -d 'Clear each retained message received'
complete -c mqtk-sub -n $sub -l no-local -d 'MQTT 5: not the messages this client publishes'
complete -c mqtk-sub -n $sub -l retain-as-published -d 'MQTT 5: keep the retain flag as published'
complete -c mqtk-sub -n $sub -l retain-handling -x -a '0\t"send" 1\t"only for a new subscription" 2\t"none"' -d 'MQTT 5: retained messages at subscribe'
complete -c mqtk-sub -n $sub -l random-filter -x -d 'Print only this percentage of messages'
complete -c mqtk-sub -n $sub -s v -l verbose -d 'Print the topic before each payload'
complete -c mqtk-sub -n $sub -s N -l no-eol -d 'No newline after each payload'
complete -c mqtk-sub -n $sub -s F -l format -x -d 'Output format (% @ \\ sequences, %{EXPR})'
complete -c mqtk-sub -n $sub -s j -l json -d 'Print JSON Lines'
complete -c mqtk-sub -n $sub -l pretty -d 'Indent JSON output'
complete -c mqtk-sub -n $sub -l plot -x -d 'Chart these expressions live'
complete -c mqtk-sub -n $sub -l plot-svg -r -F -d 'At exit write the chart to this SVG file'
complete -c mqtk-sub -n $sub -l window -x -d 'Seconds of history kept and shown'
complete -c mqtk-sub -n $sub -l ymin -x -d 'Bottom of the y axis'
complete -c mqtk-sub -n $sub -l ymax -x -d 'Top of the y axis'
complete -c mqtk-sub -n $sub -l exec-jobs -x -d 'Most --exec commands at once'
complete -c mqtk-sub -n $sub -l exec-queue -x -d 'Most --exec commands waiting to start'
complete -c mqtk-sub -n $sub -l exec-when-full -x -a 'wait drop' -d 'With a full --exec queue: wait or drop'
complete -c mqtk-sub -n $sub -l exec-timeout -x -d 'End an --exec command running longer (seconds)'
complete -c mqtk-sub -n $sub -l exec-on -x -a 'message alert' -d 'Run --exec per message or per alert'
complete -c mqtk-sub -n $sub -l no-reconnect -d 'Exit when the connection is lost'
complete -c mqtk-sub -n $sub -l reconnect-timeout -x -d 'Give up reconnecting after seconds (exit 7)'
complete -c mqtk-sub -n $sub -l exec -x -a '(__fish_complete_command)' -d 'Run a command per message (comes last)'
complete -c mqtk-sub -n __mqtk_after_exec -x -a '(__mqtk_exec_arguments)'

# mqtk-retain-clear
complete -c mqtk-retain-clear -f
__mqtk_connection_options mqtk-retain-clear true
complete -c mqtk-retain-clear -s t -l topic -x -d 'Clear retained messages matching this filter'
complete -c mqtk-retain-clear -s T -l filter-out -x -d 'Keep those matching this filter'
complete -c mqtk-retain-clear -l where -x -d 'Clear only payloads matching the expression'
complete -c mqtk-retain-clear -l max -x -d 'Clear nothing when more than N topics match'
complete -c mqtk-retain-clear -l dry-run -d 'List what would be cleared; change nothing'
complete -c mqtk-retain-clear -l backup -r -F -d 'First write every message to this new file'
complete -c mqtk-retain-clear -s y -l yes -d 'Do not ask on a terminal'
complete -c mqtk-retain-clear -s j -l json -d 'Report as JSON Lines'
complete -c mqtk-retain-clear -l quiet-time -x -d 'End the listing after this long without a message'
complete -c mqtk-retain-clear -l timeout -x -d 'Give up after this many seconds (exit 27)'
complete -c mqtk-retain-clear -l marker-topic -x -d 'Topic of the end marker'

# mqtk-sys-monitor
complete -c mqtk-sys-monitor -f
__mqtk_connection_options mqtk-sys-monitor true
complete -c mqtk-sys-monitor -s t -l topic -x -d '$SYS filter to watch'
complete -c mqtk-sys-monitor -l once -d 'One snapshot, exit with a Nagios status'
complete -c mqtk-sys-monitor -l timeout -x -d 'Seconds to wait for $SYS'
complete -c mqtk-sys-monitor -s j -l json -d 'Snapshots as JSON Lines'
complete -c mqtk-sys-monitor -l format -x -a 'live text json prometheus' -d 'Output format'
complete -c mqtk-sys-monitor -l output -r -F -d 'Write each snapshot to this file'
complete -c mqtk-sys-monitor -l listen -x -d 'Serve Prometheus metrics at [HOST:]PORT'
complete -c mqtk-sys-monitor -l warn-when -x -d 'WARNING when the expression holds'
complete -c mqtk-sys-monitor -l alert-when -x -d 'CRITICAL when the expression holds'
complete -c mqtk-sys-monitor -l alert-topic -x -d 'Publish warnings and alerts to this topic'

# mqtk-bench: a subcommand first, then its options.
set -l none '__fish_use_subcommand'
set -l clients '__fish_seen_subcommand_from pub sub conn pubsub'
set -l publishers '__fish_seen_subcommand_from pub pubsub'
complete -c mqtk-bench -f
complete -c mqtk-bench -n $none -a pub -d 'Publish from N clients and time the acknowledgements'
complete -c mqtk-bench -n $none -a sub -d 'Subscribe N clients and count what arrives'
complete -c mqtk-bench -n $none -a conn -d 'Connect N clients at a rate and hold them'
complete -c mqtk-bench -n $none -a pubsub -d 'Publishers and subscribers in one run'
complete -c mqtk-bench -n $none -a merge -d 'Add up result files of several runs'
complete -c mqtk-bench -n $none -l help -d 'Print the subcommands and exit'
complete -c mqtk-bench -n $none -l version -d 'Print mqtk\'s and its libraries\' versions and exit'
complete -c mqtk-bench -n $none -l config -r -F -d 'Read default options from this config file'
complete -c mqtk-bench -n $none -l no-config -d 'Read no config file'
complete -c mqtk-bench -n $none -l color -x -a 'auto always never' -d 'Colour the output (auto: on a terminal)'
complete -c mqtk-bench -n '__fish_seen_subcommand_from merge' -l color -x -a 'auto always never' -d 'Colour the summary'
__mqtk_connection_options mqtk-bench $clients bench
complete -c mqtk-bench -n $clients -s c -l clients -x -d 'Number of clients'
complete -c mqtk-bench -n $clients -l id-offset -x -d 'Number the clients from N'
complete -c mqtk-bench -n $clients -l connect-rate -x -d 'Connections started per second'
complete -c mqtk-bench -n $clients -l start-at -x -d 'Start at this time (epoch seconds or ISO 8601)'
complete -c mqtk-bench -n $clients -l no-sys -d 'Do not follow the broker\'s $SYS counters'
set -l results '__fish_seen_subcommand_from pub sub conn pubsub merge'
complete -c mqtk-bench -n $results -s j -l json -d 'Print the result as JSON'
complete -c mqtk-bench -n $results -s o -l output -r -F -d 'Also write the result as JSON to this file'
complete -c mqtk-bench -n $results -l csv -r -F -d 'Write the per-second series as CSV'
complete -c mqtk-bench -n $results -l slo -x -d 'Targets that set the exit status'
complete -c mqtk-bench -n '__fish_seen_subcommand_from merge' -l help -d 'Print this subcommand\'s options and exit'
complete -c mqtk-bench -n '__fish_seen_subcommand_from merge' -l quiet -d 'Print no error messages'
complete -c mqtk-bench -n '__fish_seen_subcommand_from merge' -x -a '(__mqtk_result_files)'
complete -c mqtk-bench -n '__fish_seen_subcommand_from pub sub pubsub' -s n -l count -x -d 'Messages per client'
complete -c mqtk-bench -n $clients -s D -l duration -x -d 'Seconds to run or hold'
complete -c mqtk-bench -n '__fish_seen_subcommand_from pub sub pubsub' -s q -l qos -x -a '0 1 2' -d 'QoS'
complete -c mqtk-bench -n '__fish_seen_subcommand_from pub sub pubsub' -s t -l topic -x -d 'Topic template, %i the client number'
complete -c mqtk-bench -n $publishers -l rate -x -d 'Messages per second per publisher (open loop)'
complete -c mqtk-bench -n $publishers -s s -l size -x -d 'Payload bytes, at least 24'
complete -c mqtk-bench -n $publishers -l warmup -x -d 'Seconds left out of every figure'
complete -c mqtk-bench -n $publishers -s r -l retain -d 'Publish retained'
complete -c mqtk-bench -n $publishers -l drain -x -d 'Seconds to wait for what is on its way'
complete -c mqtk-bench -n $publishers -l realtime-stamps -d 'Stamp due times on the wall clock'
complete -c mqtk-bench -n '__fish_seen_subcommand_from sub pubsub' -l shared -x -d 'Subscribe through $share/GROUP/'
complete -c mqtk-bench -n '__fish_seen_subcommand_from pubsub' -l subscribers -x -d 'Number of subscribers'
complete -c mqtk-bench -n '__fish_seen_subcommand_from pubsub' -l sub-topic -x -d 'The subscribers\' filter'
complete -c mqtk-bench -n '__fish_seen_subcommand_from pubsub' -l sub-qos -x -a '0 1 2' -d 'QoS to subscribe with'

# mqtk TOOL ARGS...: the tool first, then ARGS as mqtk-TOOL's.
function __mqtk_front_arguments
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set tokens[1] mqtk-$tokens[1]
    __fish_complete_subcommand --commandline (string escape -- $tokens) (commandline -ct)
end
set -l first '__fish_use_subcommand; and not __fish_seen_argument -l help -l version'
complete -c mqtk -f
complete -c mqtk -n $first -a pub -d 'Publish MQTT messages'
complete -c mqtk -n $first -a sub -d 'Subscribe to MQTT topics and print the messages'
complete -c mqtk -n $first -a retain-clear -d 'List, back up, clear and verify retained messages'
complete -c mqtk -n $first -a sys-monitor -d 'Watch a broker\'s $SYS health'
complete -c mqtk -n $first -a bench -d 'Benchmark a broker'
complete -c mqtk -n $first -l help -d 'Print the tools and exit'
complete -c mqtk -n $first -l version -d 'Print mqtk\'s, Paho\'s and OpenSSL\'s versions'
complete -c mqtk -n 'not __fish_use_subcommand' -x -a '(__mqtk_front_arguments)'
