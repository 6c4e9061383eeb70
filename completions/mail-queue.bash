# bash completion for mail-queue                              -*- shell-script -*-
_mail_queue() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" w
	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
		case $w in list | show | flush | delete | run) cmd=$w ;; esac
	done
	[ "$prev" = --config ] && { COMPREPLY=($(compgen -f -- "$cur")); return; }
	case $cmd in
	"") COMPREPLY=($(compgen -W "list show flush delete run --config --json --help" -- "$cur")) ;;
	list) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	run) COMPREPLY=($(compgen -W "--once" -- "$cur")) ;;
	show | flush | delete)
		COMPREPLY=($(compgen -W "--json $(mail-queue list --json 2>/dev/null | grep -o '"id":"[^"]*"' | cut -d'"' -f4)" -- "$cur")) ;;
	esac
}
complete -F _mail_queue mail-queue
