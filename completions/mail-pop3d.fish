# fish completion for mail-pop3d
complete -c mail-pop3d -f
complete -c mail-pop3d -l config -r -F -d 'configuration file'
complete -c mail-pop3d -l tls -x -a 'starttls implicit none' -d 'TLS mode'
complete -c mail-pop3d -l listen -x -d 'ADDR:PORT to listen on'
