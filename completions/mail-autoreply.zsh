#compdef mail-autoreply
_arguments \
	'--config[configuration file]:file:_files' \
	'(-f --from)'{-f,--from}'[envelope sender of the message]:address:' \
	'(-n --dry-run)'{-n,--dry-run}'[say whether a reply would be sent]' \
	'--json[JSON output]' \
	'1:mailbox:{compadd -- ${(f)"$(mail-admin mailbox list 2>/dev/null | cut -f1)"}}'
