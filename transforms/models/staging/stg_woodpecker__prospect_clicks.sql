-- One row per observed last-click time per link (grain: prospect_id × campaign_id × url × clicked_at).
-- Like opens, only the latest click per link is visible at each run. Clicks of deleted prospects or
-- campaigns are dropped.
SELECT DISTINCT
    k.prospect_id,
    k.campaign_id,
    NULLIF(TRIM(k.url), '') AS url,
    k.clicked_at
FROM {{ typed_source(source('woodpecker', 'prospect_clicks')) }} AS k
INNER JOIN {{ ref('stg_woodpecker__prospects') }} AS p ON p.prospect_id = k.prospect_id
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = k.campaign_id
WHERE k.clicked_at IS NOT NULL AND k.deleted_at IS NULL
