# fish completion for mail-fetch
complete -c mail-fetch -f
complete -c mail-fetch -l config -r -F -d 'configuration file'
complete -c mail-fetch -l once -d 'run the accounts once, then exit'
complete -c mail-fetch -l daemon -d 'run every account by its interval'
complete -c mail-fetch -l account -x -a '(mail-admin fetch list 2>/dev/null | cut -f1)' -d 'only this account'
complete -c mail-fetch -a '(mail-admin fetch list 2>/dev/null | cut -f2 | sort -u)' -d 'mailbox'
