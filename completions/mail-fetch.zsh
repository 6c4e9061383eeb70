#compdef mail-fetch
_arguments \
	'--config[configuration file]:file:_files' \
	'(--daemon)--once[run the accounts once]' \
	'(--once --account)--daemon[run every account by its interval]' \
	'*--account[only this account]:account:{compadd -- ${(f)"$(mail-admin fetch list 2>/dev/null | cut -f1)"}}' \
	'*:mailbox:{compadd -- ${(f)"$(mail-admin fetch list 2>/dev/null | cut -f2 | sort -u)"}}'
