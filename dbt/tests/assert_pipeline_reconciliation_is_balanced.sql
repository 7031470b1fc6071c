-- Nothing is lost silently: every bronze row is a silver item, a quarantined row, a duplicate, or in a parked
-- or dropped file.
select * from {{ ref('rpt_pipeline_reconciliation') }}
where not is_balanced
