# fish completion for mail-autoreply
complete -c mail-autoreply -f
complete -c mail-autoreply -l config -r -F -d 'configuration file'
complete -c mail-autoreply -s f -l from -x -d 'envelope sender of the message'
complete -c mail-autoreply -s n -l dry-run -d 'say whether a reply would be sent'
complete -c mail-autoreply -l json -d 'JSON output'
complete -c mail-autoreply -a '(mail-admin mailbox list 2>/dev/null | cut -f1)' -d 'mailbox'
