# fish completion for mail-imapd
complete -c mail-imapd -f
complete -c mail-imapd -l config -r -F -d 'configuration file'
complete -c mail-imapd -l tls -x -a 'starttls implicit none' -d 'TLS mode'
complete -c mail-imapd -l listen -x -d 'ADDR:PORT to listen on'
