# bash completion for mail-admin                              -*- shell-script -*-

# Names of existing domains, mailboxes, aliases or groups (first column).
_mail_admin_names() {
	mail-admin "$1" list 2>/dev/null | cut -f1
}

_mail_admin() {
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local cmd="" sub="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--config) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
		esac
	done
	if [[ $prev == --config ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	local opts="--json --config --help"
	case $cmd in
	"") COMPREPLY=($(compgen -W "init domain dkim mailbox alias group signature autoreply fetch dmarc check $opts" -- "$cur")) ;;
	domain)
		case $sub in
		"") COMPREPLY=($(compgen -W "add list show remove disclaimer" -- "$cur")) ;;
		remove) COMPREPLY=($(compgen -W "--force --purge $(_mail_admin_names domain)" -- "$cur")) ;;
		disclaimer) COMPREPLY=($(compgen -W "set show remove --text-file --html-file $(_mail_admin_names domain)" -- "$cur")) ;;
		show) COMPREPLY=($(compgen -W "$(_mail_admin_names domain)" -- "$cur")) ;;
		esac ;;
	dkim)
		case $sub in
		"") COMPREPLY=($(compgen -W "generate list show remove" -- "$cur")) ;;
		generate)
			case $prev in
			--algorithm) COMPREPLY=($(compgen -W "rsa-sha256 ed25519-sha256" -- "$cur")) ;;
			--selector) ;;
			*) COMPREPLY=($(compgen -W "--selector --algorithm $(_mail_admin_names domain)" -- "$cur")) ;;
			esac ;;
		list | show | remove) COMPREPLY=($(compgen -W "$(_mail_admin_names domain)" -- "$cur")) ;;
		esac ;;
	mailbox)
		case $sub in
		"") COMPREPLY=($(compgen -W "add list show remove passwd quota" -- "$cur")) ;;
		add) COMPREPLY=($(compgen -W "--password-stdin --no-password --quota" -- "$cur")) ;;
		list) COMPREPLY=($(compgen -W "--domain --json" -- "$cur")) ;;
		show | remove | passwd | quota)
			COMPREPLY=($(compgen -W "--purge --password-stdin $(_mail_admin_names mailbox)" -- "$cur")) ;;
		esac ;;
	alias)
		case $sub in
		"") COMPREPLY=($(compgen -W "add list remove" -- "$cur")) ;;
		remove) COMPREPLY=($(compgen -W "$(_mail_admin_names alias)" -- "$cur")) ;;
		esac ;;
	group)
		case $sub in
		"") COMPREPLY=($(compgen -W "add list show remove member" -- "$cur")) ;;
		member) COMPREPLY=($(compgen -W "add remove" -- "$cur")) ;;
		show | remove) COMPREPLY=($(compgen -W "$(_mail_admin_names group)" -- "$cur")) ;;
		esac ;;
	signature)
		case $sub in
		"") COMPREPLY=($(compgen -W "set show remove" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "--text-file --html-file $(_mail_admin_names mailbox)" -- "$cur")) ;;
		esac ;;
	autoreply)
		case $sub in
		"") COMPREPLY=($(compgen -W "set show off" -- "$cur")) ;;
		set) COMPREPLY=($(compgen -W "--subject --body-file --html-file --from --until --interval --extra-address $(_mail_admin_names mailbox)" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$(_mail_admin_names mailbox)" -- "$cur")) ;;
		esac ;;
	fetch)
		case $sub in
		"") COMPREPLY=($(compgen -W "add list show remove enable disable password test" -- "$cur")) ;;
		add)
			case $prev in
			--protocol) COMPREPLY=($(compgen -W "imap pop3" -- "$cur")) ;;
			--tls) COMPREPLY=($(compgen -W "implicit starttls none" -- "$cur")) ;;
			--ca-file) COMPREPLY=($(compgen -f -- "$cur")) ;;
			--host | --port | --user | --folders | --into | --interval) ;;
			*) COMPREPLY=($(compgen -W "--protocol --host --port --tls --no-verify --ca-file --user --password-stdin --folders --all-folders --into --keep --delete --interval $(_mail_admin_names mailbox)" -- "$cur")) ;;
			esac ;;
		list) COMPREPLY=($(compgen -W "$(_mail_admin_names mailbox)" -- "$cur")) ;;
		password) COMPREPLY=($(compgen -W "--password-stdin $(_mail_admin_names fetch)" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$(_mail_admin_names fetch)" -- "$cur")) ;;
		esac ;;
	dmarc)
		case $sub in
		"") COMPREPLY=($(compgen -W "send report import" -- "$cur")) ;;
		send) COMPREPLY=($(compgen -W "--dry-run --json" -- "$cur")) ;;
		report) COMPREPLY=($(compgen -W "--json $(_mail_admin_names domain)" -- "$cur")) ;;
		import) COMPREPLY=($(compgen -f -- "$cur")) ;;
		esac ;;
	check) COMPREPLY=($(compgen -W "--repair --json" -- "$cur")) ;;
	esac
}
complete -F _mail_admin mail-admin
