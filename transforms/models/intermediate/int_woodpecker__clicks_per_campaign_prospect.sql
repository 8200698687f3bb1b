-- Observed clicks per campaign membership (grain: campaign_id × prospect_id, only pairs with a click).
-- `clicked_links` counts distinct URLs; `observed_clicks` distinct (url, last-click time) pairs seen.
SELECT
    k.campaign_id,
    k.prospect_id,
    CAST(COUNT(DISTINCT k.url) AS BIGINT) AS clicked_links,
    CAST(COUNT(*) AS BIGINT) AS observed_clicks,
    MIN(k.clicked_at) AS first_clicked_at,
    MAX(k.clicked_at) AS last_clicked_at
FROM {{ ref('stg_woodpecker__prospect_clicks') }} AS k
GROUP BY k.campaign_id, k.prospect_id
