#compdef mail-verify
_arguments \
	'--ip[the client'"'"'s IP address]:address:' \
	'--helo[the name the client gave in HELO/EHLO]:name:_hosts' \
	'--mail-from[the envelope sender (<>: the null sender)]:address:' \
	'*--dns[DNS server HOST\:PORT]:server:' \
	'--authserv-id[the name in the field]:name:' \
	'--json[JSON output]' \
	'--config[configuration file]:file:_files'
