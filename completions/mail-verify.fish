# fish completion for mail-verify
complete -c mail-verify -f
complete -c mail-verify -l ip -x -d "the client's IP address"
complete -c mail-verify -l helo -x -d 'the name the client gave in HELO/EHLO'
complete -c mail-verify -l mail-from -x -d 'the envelope sender ("<>": the null sender)'
complete -c mail-verify -l dns -x -d 'DNS server HOST:PORT'
complete -c mail-verify -l authserv-id -x -d 'the name in the field'
complete -c mail-verify -l json -d 'JSON output'
complete -c mail-verify -l config -r -F -d 'configuration file'
