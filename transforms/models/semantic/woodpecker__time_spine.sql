-- One row per UTC day from 2015 to 2040 (grain: date_day): the time spine dbt's semantic layer needs
-- for the metrics in marts/_woodpecker__metrics.yml. Built by dbt only (`woodpecker-etl transform`
-- builds staging, intermediate and marts).
SELECT CAST(d AS DATE) AS date_day
FROM generate_series(TIMESTAMP '2015-01-01', TIMESTAMP '2040-12-31', INTERVAL '1 day') AS spine (d)
