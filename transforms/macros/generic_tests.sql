{#-
  The package's generic tests (no dbt_utils needed). `woodpecker-etl transform --test` runs the same
  tests with the built-in runner (transforms/model_tests.py). A failing test also logs one line naming
  the model, the column and the first failing key (the columns of the model's `meta.grain`), in the
  form both runners print:
      woodpecker test failed: campaign_prospect_engagement.was_replied: expression_is_true(NOT was_replied OR was_contacted) fails for campaign_id=3, prospect_id=17 (1 row)
-#}

{#- Rows violating `expression` (a boolean SQL expression over the model's columns) fail; rows where it is NULL pass. -#}
{% test expression_is_true(model, expression, column_name=none) %}
  {%- set failing = 'SELECT * FROM ' ~ model ~ ' WHERE NOT (' ~ expression ~ ')' -%}
  {{ woodpecker_report_failure(model, column_name, 'expression_is_true(' ~ expression ~ ')', failing) }}
  {{ failing }}
{% endtest %}

{#- Values outside [min_value, max_value] fail; NULL passes (e.g. a rate with a zero denominator). -#}
{% test accepted_range(model, column_name, min_value, max_value) %}
  {%- set failing = 'SELECT * FROM ' ~ model ~ ' WHERE ' ~ adapter.quote(column_name) ~ ' < ' ~ min_value
      ~ ' OR ' ~ adapter.quote(column_name) ~ ' > ' ~ max_value -%}
  {{ woodpecker_report_failure(model, column_name, 'accepted_range(' ~ min_value ~ ', ' ~ max_value ~ ')', failing) }}
  {{ failing }}
{% endtest %}

{#- The model's grain (`meta.grain`) identifies its rows: no two rows share it. -#}
{% test unique_grain(model) %}
  {%- set grain = woodpecker_grain(model) | join(', ') -%}
  {%- set failing = 'SELECT ' ~ grain ~ ', COUNT(*) AS duplicates FROM ' ~ model ~ ' GROUP BY ' ~ grain
      ~ ' HAVING COUNT(*) > 1' -%}
  {{ woodpecker_report_failure(model, none, 'unique_grain', failing) }}
  {{ failing }}
{% endtest %}

{#- The grain columns of a model of this package, from its `meta.grain`. -#}
{% macro woodpecker_grain(model) %}
  {%- if not execute -%}
    {{ return(['1']) }}
  {%- endif -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type == 'model' and node.package_name == 'woodpecker' and node.name == model.identifier -%}
      {%- set grain = node.config.meta.get('grain') or node.meta.get('grain') -%}
      {%- if grain -%}
        {{ return(grain) }}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("woodpecker: model " ~ model.identifier ~ " has no meta.grain") }}
{% endmacro %}

{#- Log the first failing key of a test about to fail (dbt build / dbt test only). -#}
{% macro woodpecker_report_failure(model, column_name, test, failing_sql) %}
  {%- if execute and flags.WHICH in ('build', 'test') -%}
    {%- set grain = woodpecker_grain(model) -%}
    {%- set result = run_query('SELECT ' ~ grain | join(', ') ~ ', COUNT(*) OVER () AS failing_rows FROM ('
        ~ failing_sql ~ ') AS failing ORDER BY ' ~ grain | join(', ') ~ ' LIMIT 1') -%}
    {%- if result.rows | length > 0 -%}
      {%- set row = result.rows[0] -%}
      {%- set key = [] -%}
      {%- for column in grain -%}
        {%- do key.append(column ~ '=' ~ row[loop.index0]) -%}
      {%- endfor -%}
      {%- set count = row[grain | length] | int -%}
      {%- set where = model.identifier ~ ('.' ~ column_name if column_name else '') -%}
      {%- do log('woodpecker test failed: ' ~ where ~ ': ' ~ test ~ ' fails for ' ~ key | join(', ')
          ~ ' (' ~ count ~ (' row)' if count == 1 else ' rows)'), info=True) -%}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}
