#compdef mail-imapd
_arguments \
	'--config[configuration file]:file:_files' \
	'--tls[TLS mode]:mode:(starttls implicit none)' \
	'*--listen[listen on ADDR:PORT]:address:'
