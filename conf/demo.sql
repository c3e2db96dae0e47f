-- What the download got, by status
SELECT status, count(*) AS photos, round(sum(bytes) / 1e6, 1) AS mb, max(error) AS an_error
FROM downloads GROUP BY status ORDER BY photos DESC;

-- What the detector found (no rows: the detect step was skipped)
SELECT model, status, count(*) AS images, sum(size(objects)) AS objects,
       concat_ws(', ', slice(array_sort(array_distinct(flatten(collect_list(labels)))), 1, 8)) AS some_labels
FROM detections GROUP BY 1, 2;

-- The clusters, largest first
SELECT cluster, size, description FROM cluster_summary ORDER BY size DESC;

-- How good each recommender is on held-out photos
SELECT model, round(precision_at_k, 3) AS precision, round(recall_at_k, 3) AS recall, round(ndcg_at_k, 3) AS ndcg,
       ndcg_lift_over_popularity AS lift, round(coverage, 2) AS coverage, round(taste_match, 2) AS taste_match
FROM recommendation_quality ORDER BY ndcg_at_k DESC;

-- One user's top three, with the reasons
SELECT user_id, model, rank, photo_id, reason FROM recommendations
WHERE user_id = 'u0000001' AND rank <= 3 ORDER BY model, rank;
