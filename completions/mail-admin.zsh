#compdef mail-admin
# zsh completion for mail-admin

_mail_admin_mailboxes() { compadd -- ${(f)"$(mail-admin mailbox list 2>/dev/null)"} }
_mail_admin_domains() { compadd -- ${${(f)"$(mail-admin domain list 2>/dev/null)"}%%$'\t'*} }

_mail_admin() {
	local -a cmds
	cmds=(init:'create the state directory' domain:'manage domains' dkim:'manage DKIM keys' mailbox:'manage mailboxes'
		signature:'signatures' autoreply:'out-of-office replies' fetch:'outside accounts for mail-fetch'
		alias:'manage aliases' group:'manage groups' dmarc:'DMARC aggregate reports' check:'check folders and indexes')
	_arguments -C '--json[JSON output]' '--config[configuration file]:file:_files' \
		'1:command:->cmd' '*::arg:->args'
	case $state in
	cmd) _describe command cmds ;;
	args)
		case $words[1] in
		domain) _arguments '1:action:(add list show remove disclaimer)' '*:domain:_mail_admin_domains' '--force' '--purge' \
			'--text-file[plain text]:file:_files' '--html-file[HTML]:file:_files' ;;
		signature) _arguments '1:action:(set show remove)' '*:mailbox:_mail_admin_mailboxes' \
			'--text-file[plain text]:file:_files' '--html-file[HTML]:file:_files' ;;
		autoreply) _arguments '1:action:(set show off)' '*:mailbox:_mail_admin_mailboxes' \
			'--subject[reply subject]:subject:' '--body-file[reply text]:file:_files' '--html-file[HTML]:file:_files' \
			'--from[first day]:date:' '--until[end]:date:' '--interval[one reply per sender per interval]:duration:' \
			'*--extra-address[another address of the user]:address:' ;;
		dkim) _arguments '1:action:(generate list show remove)' '*:domain:_mail_admin_domains' \
			'--selector[DKIM selector]:selector:' '--algorithm[key type]:algorithm:(rsa-sha256 ed25519-sha256)' ;;
		mailbox) _arguments '1:action:(add list show remove passwd quota)' '*:mailbox:_mail_admin_mailboxes' \
			'--password-stdin' '--no-password' '--quota[size]:size:' '--purge' '--domain[domain]:domain:_mail_admin_domains' ;;
		alias) _arguments '1:action:(add list remove)' '*:address:' ;;
		group) _arguments '1:action:(add list show remove member)' '*:address:' ;;
		fetch) _arguments '1:action:(add list show remove enable disable password test)' '*:mailbox or account:_mail_admin_mailboxes' \
			'--protocol[protocol]:protocol:(imap pop3)' '--host[server]:host:_hosts' '--port[port]:port:' \
			'--tls[TLS mode]:mode:(implicit starttls none)' '--no-verify[do not check the certificate]' \
			'--ca-file[CA certificates]:file:_files' '--user[user on the server]:user:' '--password-stdin' \
			'--folders[IMAP folders]:folders:' '--all-folders' '--into[local folder]:folder:' '--keep' '--delete' \
			'--interval[how often]:duration:' ;;
		dmarc) _arguments '1:action:(send report import)' '*:domain or file:_files' '--dry-run[send and forget nothing]' ;;
		check) _arguments '--repair[fix what can be fixed]' ;;
		esac ;;
	esac
}
_mail_admin "$@"
