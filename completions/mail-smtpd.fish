# fish completion for mail-smtpd
complete -c mail-smtpd -f
complete -c mail-smtpd -l config -r -F -d 'configuration file'
complete -c mail-smtpd -l role -x -a 'mx submission' -d 'MX or submission'
complete -c mail-smtpd -l tls -x -a 'starttls implicit none' -d 'TLS mode'
complete -c mail-smtpd -l listen -x -d 'ADDR:PORT to listen on'
