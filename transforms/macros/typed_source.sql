{#-
  typed_source(relation): what a model reads from a raw table, in dbt.

  The models name a raw table as `{{ typed_source(source('woodpecker', 'prospects')) }}`. Like the
  built-in runner (transforms/inputs.py), this projects exactly the columns the source's YAML entry lists
  (models/staging/_woodpecker__sources.yml), cast to their `data_type`: a column the table lacks is a
  typed NULL, a table that does not exist is an empty typed row set, text holding a date or number is
  trimmed and cast, and a timestamp without zone is taken as UTC. The models can then rely on one shape
  whatever the load left out (e.g. `deleted_at` on the tables that track no deletes, or no
  `webhook_events` at all).
-#}
{% macro typed_source(relation) %}
  {{ return(adapter.dispatch('typed_source', 'woodpecker')(relation)) }}
{% endmacro %}

{% macro default__typed_source(relation) %}
  {%- if not execute -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set contract = woodpecker_contract(relation.identifier) -%}
  {%- set existing = load_relation(relation) -%}
  {%- set actual = {} -%}
  {%- if existing is not none -%}
    {%- for column in adapter.get_columns_in_relation(existing) -%}
      {%- do actual.update({column.name | lower: column}) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set projection = [] -%}
  {%- for name, target_type in contract -%}
    {%- do projection.append(woodpecker_column_expression(name, woodpecker_type(target_type), actual.get(name))) -%}
  {%- endfor -%}
  {%- if existing is none -%}
    {{ return('(SELECT ' ~ projection | join(', ') ~ ' WHERE 1 = 0)') }}
  {%- endif -%}
  {{ return('(SELECT ' ~ projection | join(', ') ~ ' FROM ' ~ existing ~ ')') }}
{% endmacro %}

{#- The (column, contract type) pairs of one raw table, from the source's YAML entry. -#}
{% macro woodpecker_contract(table) %}
  {%- for node in graph.sources.values() -%}
    {%- if node.package_name == 'woodpecker' and node.source_name == 'woodpecker' and node.name == table | lower -%}
      {%- set pairs = [] -%}
      {%- for column in node.columns.values() -%}
        {%- do pairs.append((column.name, column.data_type)) -%}
      {%- endfor -%}
      {{ return(pairs) }}
    {%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("woodpecker: no source table " ~ table ~ " in the package's sources") }}
{% endmacro %}

{#- One raw column read as its contract type (mirrors transforms/inputs.py: column_expression). -#}
{% macro woodpecker_column_expression(name, target_type, column) %}
  {%- set quoted = adapter.quote(name) -%}
  {%- if column is none -%}
    {%- set expression = 'CAST(NULL AS ' ~ target_type ~ ')' -%}
  {%- elif target_type == woodpecker_type('text') -%}
    {%- set expression = 'CAST(' ~ quoted ~ ' AS ' ~ target_type ~ ')' -%}
  {%- elif column.is_string() -%}
    {%- set expression = "CAST(NULLIF(TRIM(" ~ quoted ~ "), '') AS " ~ target_type ~ ")" -%}
  {%- elif target_type == woodpecker_type('timestamptz') and not woodpecker_is_zoned(column.data_type) -%}
    {%- set expression = "CAST(" ~ quoted ~ " AS TIMESTAMP) AT TIME ZONE 'UTC'" -%}
  {%- else -%}
    {%- set expression = 'CAST(' ~ quoted ~ ' AS ' ~ target_type ~ ')' -%}
  {%- endif -%}
  {{ return(expression ~ ' AS ' ~ quoted) }}
{% endmacro %}

{% macro woodpecker_is_zoned(data_type) %}
  {%- set upper = data_type | upper -%}
  {{ return(upper in ('TIMESTAMPTZ', 'TIMESTAMP_TZ', 'TIMESTAMP_LTZ') or 'WITH TIME ZONE' in upper) }}
{% endmacro %}

{#- The adapter's name for one of the contract's types (bigint, text, timestamptz, boolean, double). -#}
{% macro woodpecker_type(name) %}
  {{ return(adapter.dispatch('woodpecker_type', 'woodpecker')(name)) }}
{% endmacro %}

{% macro default__woodpecker_type(name) %}
  {{ return({'bigint': 'BIGINT', 'text': 'TEXT', 'timestamptz': 'TIMESTAMPTZ', 'boolean': 'BOOLEAN',
             'double': 'DOUBLE'}[name | lower]) }}
{% endmacro %}

{% macro postgres__woodpecker_type(name) %}
  {{ return({'bigint': 'BIGINT', 'text': 'TEXT', 'timestamptz': 'TIMESTAMP WITH TIME ZONE',
             'boolean': 'BOOLEAN', 'double': 'DOUBLE PRECISION'}[name | lower]) }}
{% endmacro %}
