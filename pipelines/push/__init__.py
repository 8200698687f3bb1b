"""Sending prospects from the warehouse (or a file) to Woodpecker, resumably (`woodpecker-etl push`).

Modules: `options` (what a run reads and sends), `target` (the options checked, the API's target),
`inputs` (table, query or file), `validate` (rules applied before sending), `results` (the
`push_results` table) and `run` (batching and output). The command itself is
`pipelines/commands/push.py`.
"""
