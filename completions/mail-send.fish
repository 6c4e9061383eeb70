# fish completion for mail-send
complete -c mail-send -f
complete -c mail-send -l config -r -F -d 'configuration file'
complete -c mail-send -l from -x -a '(mail-admin mailbox list 2>/dev/null | cut -f1)' -d 'sender'
complete -c mail-send -l to -x -d 'recipient'
complete -c mail-send -l cc -x -d 'copy'
complete -c mail-send -l bcc -x -d 'blind copy'
complete -c mail-send -l subject -x -d 'subject'
complete -c mail-send -l attach -r -F -d 'file to attach'
complete -c mail-send -l html -r -F -d 'HTML body'
complete -c mail-send -l reply-to -x -d 'Reply-To address'
complete -c mail-send -l header -x -d 'extra header Name: value'
complete -c mail-send -l print -d 'print instead of queueing'
