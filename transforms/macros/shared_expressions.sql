{#-
  SQL expressions more than one model writes, as dialect macros: dbt dispatches them per adapter; the
  built-in runner (transforms/catalog.py) substitutes the `default__` body and sqlglot transpiles it.
  Arguments are SQL expressions passed as quoted strings: `{{ woodpecker_status('m.status_key') }}`.
-#}

{#- A status as the API spells it (trimmed, upper case) in the models' spelling; '' is NULL. -#}
{% macro woodpecker_status(status_key) %}
  {{ return(adapter.dispatch('woodpecker_status', 'woodpecker')(status_key)) }}
{% endmacro %}

{% macro default__woodpecker_status(status_key) %}
CASE {{ status_key }}
        WHEN '' THEN NULL
        WHEN 'RESPONDED' THEN 'REPLIED'
        WHEN 'BLACKLISTED' THEN 'BLACKLIST'
        WHEN 'OPTOUT' THEN 'OPT_OUT'
        WHEN 'OPTED_OUT' THEN 'OPT_OUT'
        WHEN 'AUTO_REPLIED' THEN 'AUTOREPLIED'
        ELSE {{ status_key }}
    END
{% endmacro %}

{#-
  GREATEST or LEAST (`function`) of four values ignoring NULLs, NULL only when all are: over rotations
  of COALESCE, since the functions ignore NULLs on some dialects only (BigQuery's do not).
-#}
{% macro woodpecker_ignoring_nulls(function, a, b, c, d) %}
  {{ return(adapter.dispatch('woodpecker_ignoring_nulls', 'woodpecker')(function, a, b, c, d)) }}
{% endmacro %}

{% macro default__woodpecker_ignoring_nulls(function, a, b, c, d) %}
{{ function }}(
        COALESCE({{ a }}, {{ b }}, {{ c }}, {{ d }}),
        COALESCE({{ b }}, {{ c }}, {{ d }}, {{ a }}),
        COALESCE({{ c }}, {{ d }}, {{ a }}, {{ b }}),
        COALESCE({{ d }}, {{ a }}, {{ b }}, {{ c }})
    )
{% endmacro %}
