#compdef mail-smtpd
_arguments \
	'--config[configuration file]:file:_files' \
	'--role[role]:role:(mx submission)' \
	'--tls[TLS mode]:mode:(starttls implicit none)' \
	'*--listen[listen on ADDR:PORT]:address:'
