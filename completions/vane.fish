complete --keep-order --exclusive --command vane --arguments "(COMPLETE=fish vane -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
