# zsh-complete.zsh FPATH_DIR LINE...: for each LINE, prints "CASE" then the
# candidates zsh's completion system offers for it ("HIT:word"), typed into an
# interactive zsh through a pseudo-terminal (zsh/zpty). FPATH_DIR may be empty.
zmodload zsh/zpty
zpty z zsh -f -i
[[ -n $1 ]] && zpty -w z "fpath=($1 \$fpath)"
shift
zpty -w z "autoload -Uz compinit; compinit -u -D; PROMPT=''; RPROMPT=''; zstyle ':completion:*' menu no"
zpty -w z 'compadd() { local -a __hits; builtin compadd -O __hits "$@"; local h; for h in $__hits; do print -r -- "HIT:$h"; done; builtin compadd "$@" }'
zpty -w z "print RE''ADY"
zpty -r z out '*READY*'
integer i=0
for line; do
	(( i++ ))
	# Complete, then clear the line (^U) and print a marker: zle handles
	# keys in order, so the marker comes after every candidate.
	zpty -n -w z "$line"$'\t'
	zpty -w z $'\x15print DO''NE'$i
	zpty -r z out "*DONE$i*"
	print CASE
	print -r -- $out | grep -a -o 'HIT:[^[:space:]]*' | sort -u
done
zpty -d z
