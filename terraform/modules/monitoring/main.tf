# Dashboards and alarms are generated from the topology by the dashboards crate; terraform only
# loads them, so the JSON stays the single description of what is watched.
locals {
  # jsondecode fails the plan on malformed JSON instead of at PutDashboard time.
  ops          = jsondecode(file("${var.dashboards_dir}/ops.json"))
  stakeholders = jsondecode(file("${var.dashboards_dir}/stakeholders.json"))

  # alarms.json: a list of objects in camelCase, each the PutMetricAlarm fields
  # (see modules/monitoring/README.md and examples/alarms.json).
  alarms = { for a in jsondecode(file("${var.dashboards_dir}/alarms.json")) : a.alarmName => a }
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
  namespace           = each.value.namespace
  metric_name         = each.value.metricName
  dimensions          = { for d in lookup(each.value, "dimensions", []) : d.name => d.value }
  statistic           = lookup(each.value, "statistic", null)
  extended_statistic  = lookup(each.value, "extendedStatistic", null)
  unit                = lookup(each.value, "unit", null)
  period              = each.value.period
  evaluation_periods  = each.value.evaluationPeriods
  datapoints_to_alarm = lookup(each.value, "datapointsToAlarm", null)
  threshold           = each.value.threshold
  comparison_operator = each.value.comparisonOperator
  treat_missing_data  = lookup(each.value, "treatMissingData", "missing")
  actions_enabled     = lookup(each.value, "actionsEnabled", true)
  # Every alarm notifies the environment's alarm topic, on top of any actions the JSON names.
  alarm_actions = distinct(concat([aws_sns_topic.alarms.arn], lookup(each.value, "alarmActions", [])))
  ok_actions    = distinct(concat([aws_sns_topic.alarms.arn], lookup(each.value, "okActions", [])))
}
