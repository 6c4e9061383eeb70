# fish completion for mail-queue
set -l cmds list show flush delete run
complete -c mail-queue -f
complete -c mail-queue -l config -r -F -d 'configuration file'
complete -c mail-queue -l json -d 'JSON output'
complete -c mail-queue -n "not __fish_seen_subcommand_from $cmds" -a list -d 'list queued messages'
complete -c mail-queue -n "not __fish_seen_subcommand_from $cmds" -a show -d 'show queued messages'
complete -c mail-queue -n "not __fish_seen_subcommand_from $cmds" -a flush -d 'retry now'
complete -c mail-queue -n "not __fish_seen_subcommand_from $cmds" -a delete -d 'remove undelivered'
complete -c mail-queue -n "not __fish_seen_subcommand_from $cmds" -a run -d 'deliver (the daemon)'
complete -c mail-queue -n "__fish_seen_subcommand_from run" -l once -d 'one pass, then exit'
complete -c mail-queue -n "__fish_seen_subcommand_from show flush delete" -a '(mail-queue list --json 2>/dev/null | string match -ar \'"id":"[^"]*"\' | string replace -r \'"id":"([^"]*)"\' \'$1\')'
