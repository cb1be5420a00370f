# Dashboards and alarms are generated from the topology by the dashboards crate; terraform only
# loads them, so the JSON stays the single description of what is watched.
locals {
  # jsondecode fails the plan on malformed JSON instead of at PutDashboard time.
  ops          = jsondecode(file("${var.dashboards_dir}/ops.json"))
  stakeholders = jsondecode(file("${var.dashboards_dir}/stakeholders.json"))

  # alarms.json: a list of objects in camelCase, each the PutMetricAlarm fields
  # (see modules/monitoring/README.md and examples/alarms.json).
  alarms = { for a in jsondecode(file("${var.dashboards_dir}/alarms.json")) : a.alarmName => a }

  # composite-alarms.json: PutCompositeAlarm fields in camelCase; each rule names alarms above.
  composite_alarms = { for a in jsondecode(file("${var.dashboards_dir}/composite-alarms.json")) : a.alarmName => a }
}

resource "aws_cloudwatch_dashboard" "ops" {
  dashboard_name = "${var.name}-ops"
  dashboard_body = jsonencode(local.ops)
}

resource "aws_cloudwatch_dashboard" "stakeholders" {
  dashboard_name = "${var.name}-stakeholders"
  dashboard_body = jsonencode(local.stakeholders)
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "generated" {
  for_each = local.alarms

  alarm_name          = each.key
  alarm_description   = lookup(each.value, "alarmDescription", null)
  namespace           = lookup(each.value, "namespace", null)
  metric_name         = lookup(each.value, "metricName", null)
  dimensions          = { for d in lookup(each.value, "dimensions", []) : d.name => d.value }
  statistic           = lookup(each.value, "statistic", null)
  extended_statistic  = lookup(each.value, "extendedStatistic", null)
  unit                = lookup(each.value, "unit", null)
  period              = lookup(each.value, "period", null)
  evaluation_periods  = each.value.evaluationPeriods
  datapoints_to_alarm = lookup(each.value, "datapointsToAlarm", null)
  threshold           = lookup(each.value, "threshold", null)
  threshold_metric_id = lookup(each.value, "thresholdMetricId", null)
  comparison_operator = each.value.comparisonOperator
  treat_missing_data  = lookup(each.value, "treatMissingData", "missing")
  actions_enabled     = lookup(each.value, "actionsEnabled", true)
  # Every alarm notifies the environment's alarm topic, on top of any actions the JSON names.
  alarm_actions = distinct(concat([aws_sns_topic.alarms.arn], lookup(each.value, "alarmActions", [])))
  ok_actions    = distinct(concat([aws_sns_topic.alarms.arn], lookup(each.value, "okActions", [])))

  # Metric math and anomaly bands: one block per query of `metrics`.
  dynamic "metric_query" {
    for_each = lookup(each.value, "metrics", [])
    content {
      id          = metric_query.value.id
      expression  = lookup(metric_query.value, "expression", null)
      label       = lookup(metric_query.value, "label", null)
      return_data = lookup(metric_query.value, "returnData", null)

      dynamic "metric" {
        for_each = contains(keys(metric_query.value), "metricStat") ? [metric_query.value.metricStat] : []
        content {
          namespace   = metric.value.metric.namespace
          metric_name = metric.value.metric.metricName
          dimensions  = { for d in metric.value.metric.dimensions : d.name => d.value }
          period      = metric.value.period
          stat        = metric.value.stat
        }
      }
    }
  }
}

# Composite alarms combine the states of the alarms above; they notify, their parts do not.
resource "aws_cloudwatch_composite_alarm" "generated" {
  for_each = local.composite_alarms

  alarm_name        = each.key
  alarm_description = lookup(each.value, "alarmDescription", null)
  alarm_rule        = each.value.alarmRule
  actions_enabled   = lookup(each.value, "actionsEnabled", true)
  alarm_actions     = distinct(concat([aws_sns_topic.alarms.arn], lookup(each.value, "alarmActions", [])))
  ok_actions        = distinct(concat([aws_sns_topic.alarms.arn], lookup(each.value, "okActions", [])))

  depends_on = [aws_cloudwatch_metric_alarm.generated]
}
