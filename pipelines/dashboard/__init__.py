"""The engagement dashboard, live on 127.0.0.1 or exported as one HTML file (`woodpecker-etl dashboard`).

Built only from the engagement marts (docs/dashboard.md): `marts` reads them, `page` renders the page,
`export` writes it as one file, `server` serves it live, `stats` holds the interval and test the page
computes, `charts_bundle` the inlined Vega bundle. The command itself is `pipelines/commands/dashboard.py`.
"""
