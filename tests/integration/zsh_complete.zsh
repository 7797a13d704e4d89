# What zsh offers for each LINE (the cursor at its end), with the
# completions in FPATH_DIR, in a real interactive zsh (compinit, the
# completion system, ZLE) run on a pseudo-terminal through zsh/zpty:
#     zsh -f zsh_complete.zsh FPATH_DIR LINE...
# prints, for each LINE, the matches added (one per line) and a line
# "=== end". compadd is wrapped to print what it adds; a NUL line from
# compprefuncs and comppostfuncs frames each completion's output.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=(${(q)1} \$fpath)"
shift
zpty -w z 'autoload -U compinit && compinit -u -D'
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) || return 1
  builtin compadd "$@"
  print -lr -- "${__hits[@]}"
}'
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
zpty -w z '__mqtk_null () { print -- $'"'"'\0'"'"' }'
zpty -w z 'bindkey "^I" complete-word; unsetopt auto_list auto_menu list_ambiguous; LISTMAX=100000'
local line chunk out
for line in "$@"; do
  # Both arrays are emptied after each completion.
  zpty -w z 'compprefuncs=(__mqtk_null); comppostfuncs=(__mqtk_null)'
  zpty -n -w z "$line"$'\t'
  out=
  while [[ ${#${out//[^$'\0']/}} -lt 2 ]]; do
    zpty -r z chunk || break
    out+=$chunk
  done
  out=${out#*$'\0'}
  out=${out%%$'\0'*}
  print -r -- "${out//$'\r'/}"
  print -r -- '=== end'
  zpty -n -w z $'\C-u'
done
zpty -d z
