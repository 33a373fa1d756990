# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vane_global_optspecs
    string join \n C= json q/quiet v/verbose color= h/help V/version
end

function __fish_vane_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vane_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vane_using_subcommand
    set -l cmd (__fish_vane_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vane -n "__fish_vane_needs_command" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_needs_command" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_needs_command" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_needs_command" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_needs_command" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_needs_command" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_needs_command" -s V -l version -d 'Print version'
complete -c vane -n "__fish_vane_needs_command" -f -a "init" -d 'Set vane up in the current repository'
complete -c vane -n "__fish_vane_needs_command" -f -a "task" -d 'Add, list, show and change tasks'
complete -c vane -n "__fish_vane_needs_command" -f -a "import" -d 'Add or update tasks from a roadmap file'
complete -c vane -n "__fish_vane_needs_command" -f -a "plan" -d 'Break an epic, or a goal, into a task graph with a planner agent'
complete -c vane -n "__fish_vane_needs_command" -f -a "mcp" -d 'Serve vane\'s tools over the Model Context Protocol (stdio), for an agent that coordinates'
complete -c vane -n "__fish_vane_needs_command" -f -a "export" -d 'Write the task graph as a roadmap'
complete -c vane -n "__fish_vane_needs_command" -f -a "context" -d 'Record and read structured context'
complete -c vane -n "__fish_vane_needs_command" -f -a "work" -d 'Run a batch: agents work on ready tasks in parallel worktrees, and what passes the gates lands'
complete -c vane -n "__fish_vane_needs_command" -f -a "checkpoints" -d 'List checkpoints: the base branch after every landing, at every batch start, before every rollback'
complete -c vane -n "__fish_vane_needs_command" -f -a "rollback" -d 'Return the base branch and every task\'s state to a checkpoint'
complete -c vane -n "__fish_vane_needs_command" -f -a "gate" -d 'Run the quality gates now: on a task\'s branch merged with the base tip, or on the working tree'
complete -c vane -n "__fish_vane_needs_command" -f -a "land" -d 'Land a task\'s branch by hand, held to its gates: the way to merge work done beside vane'
complete -c vane -n "__fish_vane_needs_command" -f -a "approve" -d 'Land a change to the checks themselves, after looking at it'
complete -c vane -n "__fish_vane_needs_command" -f -a "reject" -d 'Send back a change to the checks themselves, with the reason as feedback'
complete -c vane -n "__fish_vane_needs_command" -f -a "hooks" -d 'Manage vane\'s git hooks: record agents\' commits as they happen, gate merges made by hand'
complete -c vane -n "__fish_vane_needs_command" -f -a "hook" -d 'Run one of vane\'s hooks (called by the git hook shims and by agents\' hook settings)'
complete -c vane -n "__fish_vane_needs_command" -f -a "quality" -d 'Show quality over time: per dimension the recent scores, a moving average and the extremes; the share of landed tasks that met the threshold; the tasks with the lowest scores'
complete -c vane -n "__fish_vane_needs_command" -f -a "status" -d 'Show where the work stands'
complete -c vane -n "__fish_vane_needs_command" -f -a "events" -d 'Show the event log, oldest first'
complete -c vane -n "__fish_vane_needs_command" -f -a "gc" -d 'Remove the workers\' worktrees and the branches of tasks that landed, keeping all other work'
complete -c vane -n "__fish_vane_needs_command" -f -a "doctor" -d 'Check that vane can work here and that its state is whole, with a fix for each problem'
complete -c vane -n "__fish_vane_needs_command" -f -a "config" -d 'Show the effective configuration, or check vane.toml'
complete -c vane -n "__fish_vane_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c vane -n "__fish_vane_needs_command" -f -a "demo" -d 'Try vane on a sample repository, with no AI agent needed'
complete -c vane -n "__fish_vane_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand init" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand init" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand init" -l force-new-database -d 'Replace a database vane cannot use with an empty one, moving the old file and the checkpoint refs aside'
complete -c vane -n "__fish_vane_using_subcommand init" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand init" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand init" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "add" -d 'Add a task to the graph'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "list" -d 'List tasks, in the order the scheduler would take them'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "show" -d 'Show a task with its dependencies, dependents and events'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "dep" -d 'Add or remove a dependency between two tasks'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "block" -d 'Block a task by hand, with the reason'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "retry" -d 'Release a blocked task so that it is scheduled again'
complete -c vane -n "__fish_vane_using_subcommand task; and not __fish_seen_subcommand_from add list show dep block retry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l id -d 'The task\'s id (letters, digits, `-`, `_`, `.`); generated when absent' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -s d -l description -d 'A longer description, given to the agent' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l type -d 'What kind of task it is' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l complexity -d 'Estimated complexity, from 1 (trivial) to 10' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l deps -d 'Tasks this one waits for, comma-separated' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l parent -d 'The epic this task belongs to' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l run -d 'The command the built-in `shell` agent runs for this task (with `sh -c`, in its worktree)' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l agent -d 'The agent profile that works on it (default: `default_agent` of vane.toml)' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l paths -d 'Paths it expects to change, comma-separated, from the repository\'s root: files, folders (`src/auth/`) and globs (`*`, `?`, `**`); repeatable' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -l status -d 'Only tasks with one of these statuses, comma-separated' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -l parent -d 'Only the tasks of this epic' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -l ready -d 'Only tasks that a worker could start now'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from show" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from show" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from show" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -f -a "add" -d 'Make a task depend on another'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -f -a "rm" -d 'Remove a dependency'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from dep" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -l reason -d 'Why it is blocked; shown by `vane status` and `vane task show`' -r
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from block" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -l fresh -d 'Start the next attempt from the base branch, not from the merge with its conflicts'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a task to the graph'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "list" -d 'List tasks, in the order the scheduler would take them'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a task with its dependencies, dependents and events'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "dep" -d 'Add or remove a dependency between two tasks'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "block" -d 'Block a task by hand, with the reason'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Release a blocked task so that it is scheduled again'
complete -c vane -n "__fish_vane_using_subcommand task; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand import" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand import" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand import" -l dry-run -d 'Check the roadmap and report what would change, without changing anything'
complete -c vane -n "__fish_vane_using_subcommand import" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand import" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand import" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand plan" -l id -d 'The id of the epic made from a goal (default: made from the goal\'s words)' -r
complete -c vane -n "__fish_vane_using_subcommand plan" -l agent -d 'The agent profile that plans (default: `planner` in vane.toml, else `claude`)' -r
complete -c vane -n "__fish_vane_using_subcommand plan" -l max-tasks -d 'The most tasks the plan may hold' -r
complete -c vane -n "__fish_vane_using_subcommand plan" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand plan" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand plan" -l dry-run -d 'Print the plan and change nothing'
complete -c vane -n "__fish_vane_using_subcommand plan" -l replace -d 'Plan an epic that has tasks again: its pending tasks are replaced, the rest kept'
complete -c vane -n "__fish_vane_using_subcommand plan" -l add -d 'Add the plan\'s tasks to an epic that has tasks already'
complete -c vane -n "__fish_vane_using_subcommand plan" -s y -l yes -d 'Write the plan without asking first (asked only on a terminal)'
complete -c vane -n "__fish_vane_using_subcommand plan" -l schema -d 'Print the JSON Schema of a planner\'s answer and exit'
complete -c vane -n "__fish_vane_using_subcommand plan" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand plan" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand plan" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -f -a "config" -d 'Print what to add to an MCP client\'s configuration to start this vane\'s server'
complete -c vane -n "__fish_vane_using_subcommand mcp; and not __fish_seen_subcommand_from config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -l client -d 'The client to configure' -r -f -a "claude\t'The `claude mcp add` command line'
codex\t'The `[mcp_servers.vane]` table of Codex\'s config.toml'
json\t'The `mcpServers` file that `claude --mcp-config` reads'"
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "config" -d 'Print what to add to an MCP client\'s configuration to start this vane\'s server'
complete -c vane -n "__fish_vane_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand export" -l format -d 'The format to write' -r -f -a "yaml\t''
json\t''"
complete -c vane -n "__fish_vane_using_subcommand export" -s o -l output -d 'Write to this file instead of stdout' -r -F
complete -c vane -n "__fish_vane_using_subcommand export" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand export" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand export" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand export" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand export" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -f -a "add" -d 'Record a decision, constraint, hypothesis or learning'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -f -a "list" -d 'List context entries, oldest first'
complete -c vane -n "__fish_vane_using_subcommand context; and not __fish_seen_subcommand_from add list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -l type -d 'What kind of entry it is' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -l topic -d 'What it is about, one word or a few' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -l confidence -d 'How sure it is, from 0 to 1' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -l task -d 'Tasks it concerns, comma-separated' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -l type -d 'Only entries of this kind' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -l topic -d 'Only entries on this topic' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -l task -d 'Only entries that concern this task' -r
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from help" -f -a "add" -d 'Record a decision, constraint, hypothesis or learning'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from help" -f -a "list" -d 'List context entries, oldest first'
complete -c vane -n "__fish_vane_using_subcommand context; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand work" -s j -l workers -d 'How many agents work at once (default: `workers` of vane.toml, 4 when unset)' -r
complete -c vane -n "__fish_vane_using_subcommand work" -l task -d 'Only this task and what it needs (repeatable)' -r
complete -c vane -n "__fish_vane_using_subcommand work" -l max-tasks -d 'Start at most N tasks' -r
complete -c vane -n "__fish_vane_using_subcommand work" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand work" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand work" -l dry-run -d 'Print the tasks that would start, in order, and those held back because their paths overlap a task\'s that runs or starts first; run nothing'
complete -c vane -n "__fish_vane_using_subcommand work" -l no-extend -d 'Do not extend the roadmap in this batch, whatever `[extend]` in vane.toml says'
complete -c vane -n "__fish_vane_using_subcommand work" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand work" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand work" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand work" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand checkpoints" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand checkpoints" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand checkpoints" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand checkpoints" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand checkpoints" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand checkpoints" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand rollback" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand rollback" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand rollback" -l force -d 'Stash uncommitted changes in a checkout of the base branch instead of refusing'
complete -c vane -n "__fish_vane_using_subcommand rollback" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand rollback" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand rollback" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand gate" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand gate" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand gate" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand gate" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand gate" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand gate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand land" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand land" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand land" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand land" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand land" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand land" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand approve" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand approve" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand approve" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand approve" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand approve" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand reject" -l reason -d 'Why, for the task\'s next attempt' -r
complete -c vane -n "__fish_vane_using_subcommand reject" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand reject" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand reject" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand reject" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand reject" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand reject" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Install the hooks (`vane init` does it too); installing again refreshes them'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Take vane\'s hooks out and put back what was there before'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Show where each hook stands'
complete -c vane -n "__fish_vane_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from install" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from install" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from install" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from status" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from status" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from status" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install the hooks (`vane init` does it too); installing again refreshes them'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Take vane\'s hooks out and put back what was there before'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show where each hook stands'
complete -c vane -n "__fish_vane_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand hook" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand hook" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand hook" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand hook" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand hook" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand hook" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand quality" -l dimension -d 'Only this dimension (correctness, style, ...)' -r
complete -c vane -n "__fish_vane_using_subcommand quality" -l since -d 'Only scores since then: `7d`, `24h`, `30m`, `2w`, or a date (YYYY-MM-DD, UTC)' -r
complete -c vane -n "__fish_vane_using_subcommand quality" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand quality" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand quality" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand quality" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand quality" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand quality" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand status" -l limit -d 'How many ready, blocked and epic rows to list (the counts are always whole)' -r
complete -c vane -n "__fish_vane_using_subcommand status" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand status" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand status" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand status" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand status" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand events" -l task -d 'Only the events of this task' -r
complete -c vane -n "__fish_vane_using_subcommand events" -s n -l limit -d 'Show the most recent N events; 0 shows them all' -r
complete -c vane -n "__fish_vane_using_subcommand events" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand events" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand events" -s f -l follow -d 'Keep printing events as they are written'
complete -c vane -n "__fish_vane_using_subcommand events" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand events" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand events" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand gc" -l keep-days -d 'Keep worktrees used within the last N days (0 removes them all); remove run directories not written to within them' -r
complete -c vane -n "__fish_vane_using_subcommand gc" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand gc" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand gc" -l dry-run -d 'Print what would be removed, deleted and kept, and change nothing'
complete -c vane -n "__fish_vane_using_subcommand gc" -l all-repos -d 'Remove the worktree folders of every repository that no longer exists, instead of collecting this repository'
complete -c vane -n "__fish_vane_using_subcommand gc" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand gc" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand gc" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand gc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand doctor" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand doctor" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand doctor" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand doctor" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand doctor" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s h -l help -d 'Print help'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "show" -d 'Show every key of the configuration with its value and where the value came from'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "check" -d 'Check vane.toml and report every problem, each with its line'
complete -c vane -n "__fish_vane_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from show" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from check" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from check" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from check" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show every key of the configuration with its value and where the value came from'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check vane.toml and report every problem, each with its line'
complete -c vane -n "__fish_vane_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand completions" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand completions" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand completions" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand completions" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand completions" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand demo" -s C -d 'Run as if vane was started in PATH' -r -F
complete -c vane -n "__fish_vane_using_subcommand demo" -l color -d 'When to use colour (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c vane -n "__fish_vane_using_subcommand demo" -l json -d 'Print results as JSON on stdout'
complete -c vane -n "__fish_vane_using_subcommand demo" -s q -l quiet -d 'Print nothing but results and errors'
complete -c vane -n "__fish_vane_using_subcommand demo" -s v -l verbose -d 'Say more about what happens (repeat for more)'
complete -c vane -n "__fish_vane_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "init" -d 'Set vane up in the current repository'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "task" -d 'Add, list, show and change tasks'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "import" -d 'Add or update tasks from a roadmap file'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "plan" -d 'Break an epic, or a goal, into a task graph with a planner agent'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "mcp" -d 'Serve vane\'s tools over the Model Context Protocol (stdio), for an agent that coordinates'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "export" -d 'Write the task graph as a roadmap'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "context" -d 'Record and read structured context'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "work" -d 'Run a batch: agents work on ready tasks in parallel worktrees, and what passes the gates lands'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "checkpoints" -d 'List checkpoints: the base branch after every landing, at every batch start, before every rollback'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "rollback" -d 'Return the base branch and every task\'s state to a checkpoint'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "gate" -d 'Run the quality gates now: on a task\'s branch merged with the base tip, or on the working tree'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "land" -d 'Land a task\'s branch by hand, held to its gates: the way to merge work done beside vane'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "approve" -d 'Land a change to the checks themselves, after looking at it'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "reject" -d 'Send back a change to the checks themselves, with the reason as feedback'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "hooks" -d 'Manage vane\'s git hooks: record agents\' commits as they happen, gate merges made by hand'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "hook" -d 'Run one of vane\'s hooks (called by the git hook shims and by agents\' hook settings)'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "quality" -d 'Show quality over time: per dimension the recent scores, a moving average and the extremes; the share of landed tasks that met the threshold; the tasks with the lowest scores'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "status" -d 'Show where the work stands'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "events" -d 'Show the event log, oldest first'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "gc" -d 'Remove the workers\' worktrees and the branches of tasks that landed, keeping all other work'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "doctor" -d 'Check that vane can work here and that its state is whole, with a fix for each problem'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "config" -d 'Show the effective configuration, or check vane.toml'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "completions" -d 'Print a shell completion script'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "demo" -d 'Try vane on a sample repository, with no AI agent needed'
complete -c vane -n "__fish_vane_using_subcommand help; and not __fish_seen_subcommand_from init task import plan mcp export context work checkpoints rollback gate land approve reject hooks hook quality status events gc doctor config completions demo help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "add" -d 'Add a task to the graph'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "list" -d 'List tasks, in the order the scheduler would take them'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "show" -d 'Show a task with its dependencies, dependents and events'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "dep" -d 'Add or remove a dependency between two tasks'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "block" -d 'Block a task by hand, with the reason'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from task" -f -a "retry" -d 'Release a blocked task so that it is scheduled again'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "config" -d 'Print what to add to an MCP client\'s configuration to start this vane\'s server'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from context" -f -a "add" -d 'Record a decision, constraint, hypothesis or learning'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from context" -f -a "list" -d 'List context entries, oldest first'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "install" -d 'Install the hooks (`vane init` does it too); installing again refreshes them'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "uninstall" -d 'Take vane\'s hooks out and put back what was there before'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "status" -d 'Show where each hook stands'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Show every key of the configuration with its value and where the value came from'
complete -c vane -n "__fish_vane_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Check vane.toml and report every problem, each with its line'
