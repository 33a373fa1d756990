
use builtin;
use str;

set edit:completion:arg-completer[vane] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'vane'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'vane'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Set vane up in the current repository'
            cand task 'Add, list, show and change tasks'
            cand import 'Add or update tasks from a roadmap file'
            cand plan 'Break an epic, or a goal, into a task graph with a planner agent'
            cand mcp 'Serve vane''s tools over the Model Context Protocol (stdio), for an agent that coordinates'
            cand export 'Write the task graph as a roadmap'
            cand context 'Record and read structured context'
            cand work 'Run a batch: agents work on ready tasks in parallel worktrees, and what passes the gates lands'
            cand checkpoints 'List checkpoints: the base branch after every landing, at every batch start, before every rollback'
            cand rollback 'Return the base branch and every task''s state to a checkpoint'
            cand gate 'Run the quality gates now: on a task''s branch merged with the base tip, or on the working tree'
            cand land 'Land a task''s branch by hand, held to its gates: the way to merge work done beside vane'
            cand approve 'Land a change to the checks themselves, after looking at it'
            cand reject 'Send back a change to the checks themselves, with the reason as feedback'
            cand hooks 'Manage vane''s git hooks: record agents'' commits as they happen, gate merges made by hand'
            cand hook 'Run one of vane''s hooks (called by the git hook shims and by agents'' hook settings)'
            cand quality 'Show quality over time: per dimension the recent scores, a moving average and the extremes; the share of landed tasks that met the threshold; the tasks with the lowest scores'
            cand status 'Show where the work stands'
            cand events 'Show the event log, oldest first'
            cand gc 'Remove the workers'' worktrees and the branches of tasks that landed, keeping all other work'
            cand doctor 'Check that vane can work here and that its state is whole, with a fix for each problem'
            cand config 'Show the effective configuration, or check vane.toml'
            cand completions 'Print a shell completion script'
            cand demo 'Try vane on a sample repository, with no AI agent needed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;init'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --force-new-database 'Replace a database vane cannot use with an empty one, moving the old file and the checkpoint refs aside'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;task'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Add a task to the graph'
            cand list 'List tasks, in the order the scheduler would take them'
            cand show 'Show a task with its dependencies, dependents and events'
            cand dep 'Add or remove a dependency between two tasks'
            cand block 'Block a task by hand, with the reason'
            cand retry 'Release a blocked task so that it is scheduled again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;task;add'= {
            cand --id 'The task''s id (letters, digits, `-`, `_`, `.`); generated when absent'
            cand -d 'A longer description, given to the agent'
            cand --description 'A longer description, given to the agent'
            cand --type 'What kind of task it is'
            cand --complexity 'Estimated complexity, from 1 (trivial) to 10'
            cand --deps 'Tasks this one waits for, comma-separated'
            cand --parent 'The epic this task belongs to'
            cand --run 'The command the built-in `shell` agent runs for this task (with `sh -c`, in its worktree)'
            cand --agent 'The agent profile that works on it (default: `default_agent` of vane.toml)'
            cand --paths 'Paths it expects to change, comma-separated, from the repository''s root: files, folders (`src/auth/`) and globs (`*`, `?`, `**`); repeatable'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;task;list'= {
            cand --status 'Only tasks with one of these statuses, comma-separated'
            cand --parent 'Only the tasks of this epic'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --ready 'Only tasks that a worker could start now'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;task;show'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;task;dep'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Make a task depend on another'
            cand rm 'Remove a dependency'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;task;dep;add'= {
            cand --kind 'The kind of dependency'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;task;dep;rm'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;task;dep;help'= {
            cand add 'Make a task depend on another'
            cand rm 'Remove a dependency'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;task;dep;help;add'= {
        }
        &'vane;task;dep;help;rm'= {
        }
        &'vane;task;dep;help;help'= {
        }
        &'vane;task;block'= {
            cand --reason 'Why it is blocked; shown by `vane status` and `vane task show`'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;task;retry'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --fresh 'Start the next attempt from the base branch, not from the merge with its conflicts'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;task;help'= {
            cand add 'Add a task to the graph'
            cand list 'List tasks, in the order the scheduler would take them'
            cand show 'Show a task with its dependencies, dependents and events'
            cand dep 'Add or remove a dependency between two tasks'
            cand block 'Block a task by hand, with the reason'
            cand retry 'Release a blocked task so that it is scheduled again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;task;help;add'= {
        }
        &'vane;task;help;list'= {
        }
        &'vane;task;help;show'= {
        }
        &'vane;task;help;dep'= {
            cand add 'Make a task depend on another'
            cand rm 'Remove a dependency'
        }
        &'vane;task;help;dep;add'= {
        }
        &'vane;task;help;dep;rm'= {
        }
        &'vane;task;help;block'= {
        }
        &'vane;task;help;retry'= {
        }
        &'vane;task;help;help'= {
        }
        &'vane;import'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --dry-run 'Check the roadmap and report what would change, without changing anything'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;plan'= {
            cand --id 'The id of the epic made from a goal (default: made from the goal''s words)'
            cand --agent 'The agent profile that plans (default: `planner` in vane.toml, else `claude`)'
            cand --max-tasks 'The most tasks the plan may hold'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --dry-run 'Print the plan and change nothing'
            cand --replace 'Plan an epic that has tasks again: its pending tasks are replaced, the rest kept'
            cand --add 'Add the plan''s tasks to an epic that has tasks already'
            cand -y 'Write the plan without asking first (asked only on a terminal)'
            cand --yes 'Write the plan without asking first (asked only on a terminal)'
            cand --schema 'Print the JSON Schema of a planner''s answer and exit'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;mcp'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand config 'Print what to add to an MCP client''s configuration to start this vane''s server'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;mcp;config'= {
            cand --client 'The client to configure'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;mcp;help'= {
            cand config 'Print what to add to an MCP client''s configuration to start this vane''s server'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;mcp;help;config'= {
        }
        &'vane;mcp;help;help'= {
        }
        &'vane;export'= {
            cand --format 'The format to write'
            cand -o 'Write to this file instead of stdout'
            cand --output 'Write to this file instead of stdout'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;context'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Record a decision, constraint, hypothesis or learning'
            cand list 'List context entries, oldest first'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;context;add'= {
            cand --type 'What kind of entry it is'
            cand --topic 'What it is about, one word or a few'
            cand --confidence 'How sure it is, from 0 to 1'
            cand --task 'Tasks it concerns, comma-separated'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;context;list'= {
            cand --type 'Only entries of this kind'
            cand --topic 'Only entries on this topic'
            cand --task 'Only entries that concern this task'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;context;help'= {
            cand add 'Record a decision, constraint, hypothesis or learning'
            cand list 'List context entries, oldest first'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;context;help;add'= {
        }
        &'vane;context;help;list'= {
        }
        &'vane;context;help;help'= {
        }
        &'vane;work'= {
            cand -j 'How many agents work at once (default: `workers` of vane.toml, 4 when unset)'
            cand --workers 'How many agents work at once (default: `workers` of vane.toml, 4 when unset)'
            cand --task 'Only this task and what it needs (repeatable)'
            cand --max-tasks 'Start at most N tasks'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --dry-run 'Print the tasks that would start, in order, and those held back because their paths overlap a task''s that runs or starts first; run nothing'
            cand --no-extend 'Do not extend the roadmap in this batch, whatever `[extend]` in vane.toml says'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;checkpoints'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;rollback'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --force 'Stash uncommitted changes in a checkout of the base branch instead of refusing'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;gate'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;land'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;approve'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;reject'= {
            cand --reason 'Why, for the task''s next attempt'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;hooks'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand install 'Install the hooks (`vane init` does it too); installing again refreshes them'
            cand uninstall 'Take vane''s hooks out and put back what was there before'
            cand status 'Show where each hook stands'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;hooks;install'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;hooks;uninstall'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;hooks;status'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;hooks;help'= {
            cand install 'Install the hooks (`vane init` does it too); installing again refreshes them'
            cand uninstall 'Take vane''s hooks out and put back what was there before'
            cand status 'Show where each hook stands'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;hooks;help;install'= {
        }
        &'vane;hooks;help;uninstall'= {
        }
        &'vane;hooks;help;status'= {
        }
        &'vane;hooks;help;help'= {
        }
        &'vane;hook'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;quality'= {
            cand --dimension 'Only this dimension (correctness, style, ...)'
            cand --since 'Only scores since then: `7d`, `24h`, `30m`, `2w`, or a date (YYYY-MM-DD, UTC)'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'vane;status'= {
            cand --limit 'How many ready, blocked and epic rows to list (the counts are always whole)'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;events'= {
            cand --task 'Only the events of this task'
            cand -n 'Show the most recent N events; 0 shows them all'
            cand --limit 'Show the most recent N events; 0 shows them all'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand -f 'Keep printing events as they are written'
            cand --follow 'Keep printing events as they are written'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;gc'= {
            cand --keep-days 'Keep worktrees used within the last N days (0 removes them all); remove run directories not written to within them'
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --dry-run 'Print what would be removed, deleted and kept, and change nothing'
            cand --all-repos 'Remove the worktree folders of every repository that no longer exists, instead of collecting this repository'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;doctor'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;config'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'Show every key of the configuration with its value and where the value came from'
            cand check 'Check vane.toml and report every problem, each with its line'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;config;show'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;config;check'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;config;help'= {
            cand show 'Show every key of the configuration with its value and where the value came from'
            cand check 'Check vane.toml and report every problem, each with its line'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;config;help;show'= {
        }
        &'vane;config;help;check'= {
        }
        &'vane;config;help;help'= {
        }
        &'vane;completions'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;demo'= {
            cand -C 'Run as if vane was started in PATH'
            cand --color 'When to use colour (NO_COLOR in the environment means never, unless `always`)'
            cand --json 'Print results as JSON on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Say more about what happens (repeat for more)'
            cand --verbose 'Say more about what happens (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'vane;help'= {
            cand init 'Set vane up in the current repository'
            cand task 'Add, list, show and change tasks'
            cand import 'Add or update tasks from a roadmap file'
            cand plan 'Break an epic, or a goal, into a task graph with a planner agent'
            cand mcp 'Serve vane''s tools over the Model Context Protocol (stdio), for an agent that coordinates'
            cand export 'Write the task graph as a roadmap'
            cand context 'Record and read structured context'
            cand work 'Run a batch: agents work on ready tasks in parallel worktrees, and what passes the gates lands'
            cand checkpoints 'List checkpoints: the base branch after every landing, at every batch start, before every rollback'
            cand rollback 'Return the base branch and every task''s state to a checkpoint'
            cand gate 'Run the quality gates now: on a task''s branch merged with the base tip, or on the working tree'
            cand land 'Land a task''s branch by hand, held to its gates: the way to merge work done beside vane'
            cand approve 'Land a change to the checks themselves, after looking at it'
            cand reject 'Send back a change to the checks themselves, with the reason as feedback'
            cand hooks 'Manage vane''s git hooks: record agents'' commits as they happen, gate merges made by hand'
            cand hook 'Run one of vane''s hooks (called by the git hook shims and by agents'' hook settings)'
            cand quality 'Show quality over time: per dimension the recent scores, a moving average and the extremes; the share of landed tasks that met the threshold; the tasks with the lowest scores'
            cand status 'Show where the work stands'
            cand events 'Show the event log, oldest first'
            cand gc 'Remove the workers'' worktrees and the branches of tasks that landed, keeping all other work'
            cand doctor 'Check that vane can work here and that its state is whole, with a fix for each problem'
            cand config 'Show the effective configuration, or check vane.toml'
            cand completions 'Print a shell completion script'
            cand demo 'Try vane on a sample repository, with no AI agent needed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vane;help;init'= {
        }
        &'vane;help;task'= {
            cand add 'Add a task to the graph'
            cand list 'List tasks, in the order the scheduler would take them'
            cand show 'Show a task with its dependencies, dependents and events'
            cand dep 'Add or remove a dependency between two tasks'
            cand block 'Block a task by hand, with the reason'
            cand retry 'Release a blocked task so that it is scheduled again'
        }
        &'vane;help;task;add'= {
        }
        &'vane;help;task;list'= {
        }
        &'vane;help;task;show'= {
        }
        &'vane;help;task;dep'= {
            cand add 'Make a task depend on another'
            cand rm 'Remove a dependency'
        }
        &'vane;help;task;dep;add'= {
        }
        &'vane;help;task;dep;rm'= {
        }
        &'vane;help;task;block'= {
        }
        &'vane;help;task;retry'= {
        }
        &'vane;help;import'= {
        }
        &'vane;help;plan'= {
        }
        &'vane;help;mcp'= {
            cand config 'Print what to add to an MCP client''s configuration to start this vane''s server'
        }
        &'vane;help;mcp;config'= {
        }
        &'vane;help;export'= {
        }
        &'vane;help;context'= {
            cand add 'Record a decision, constraint, hypothesis or learning'
            cand list 'List context entries, oldest first'
        }
        &'vane;help;context;add'= {
        }
        &'vane;help;context;list'= {
        }
        &'vane;help;work'= {
        }
        &'vane;help;checkpoints'= {
        }
        &'vane;help;rollback'= {
        }
        &'vane;help;gate'= {
        }
        &'vane;help;land'= {
        }
        &'vane;help;approve'= {
        }
        &'vane;help;reject'= {
        }
        &'vane;help;hooks'= {
            cand install 'Install the hooks (`vane init` does it too); installing again refreshes them'
            cand uninstall 'Take vane''s hooks out and put back what was there before'
            cand status 'Show where each hook stands'
        }
        &'vane;help;hooks;install'= {
        }
        &'vane;help;hooks;uninstall'= {
        }
        &'vane;help;hooks;status'= {
        }
        &'vane;help;hook'= {
        }
        &'vane;help;quality'= {
        }
        &'vane;help;status'= {
        }
        &'vane;help;events'= {
        }
        &'vane;help;gc'= {
        }
        &'vane;help;doctor'= {
        }
        &'vane;help;config'= {
            cand show 'Show every key of the configuration with its value and where the value came from'
            cand check 'Check vane.toml and report every problem, each with its line'
        }
        &'vane;help;config;show'= {
        }
        &'vane;help;config;check'= {
        }
        &'vane;help;completions'= {
        }
        &'vane;help;demo'= {
        }
        &'vane;help;help'= {
        }
    ]
    $completions[$command]
}
