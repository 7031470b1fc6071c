-- Nothing is lost silently: every bronze row is a silver item, a quarantined row or a duplicate.
select * from {{ ref('rpt_pipeline_reconciliation') }}
where not is_balanced
