//! CloudWatch adapter: the [`DashboardStore`] port for `dashboards deploy`, the
//! [`MetricReader`] port for the charts, and [`CloudWatchMetrics`], the [`Metrics`] port for the
//! local runner.
//!
//! Alarms travel as JSON in the camelCase shape of `alarms.json` (the PutMetricAlarm fields), in
//! both directions, so what is deployed can be compared with what is generated field by field.
//! Batches follow CloudWatch's limits: at most [`MAX_QUERIES_PER_CALL`] queries per
//! GetMetricData and [`MAX_DATUMS_PER_CALL`] datums per PutMetricData. Every page of a listing
//! is read, through the SDK's paginators.

use super::port_error;
use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat,
    ScanBy, StandardUnit, Statistic,
};
use crowdfund_core::metrics::{MetricEvent, NAMESPACE};
use crowdfund_core::ports::{Clock, DashboardStore, MetricReader, Metrics, PortError, PortResult};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const SERVICE: &str = "CloudWatch";
/// GetMetricData takes at most this many queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// PutMetricData takes at most this many datums per call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;

pub use crowdfund_core::metrics::MetricQuery;
pub use crowdfund_core::ports::{MetricId, MetricSeries};

/// One value to put.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub value: f64,
    /// `Count`, `None`, ...
    pub unit: String,
    /// Seconds since the epoch.
    pub at: i64,
}

#[derive(Debug, Clone)]
pub struct CloudWatch {
    pub(crate) client: aws_sdk_cloudwatch::Client,
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn str_field<'a>(alarm: &'a Value, key: &str) -> Option<&'a str> {
    alarm.get(key).and_then(Value::as_str)
}

fn int_field(alarm: &Value, name: &str, key: &str) -> PortResult<Option<i32>> {
    match alarm.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                PortError::Rejected(format!("alarm {name}: {key} must be an integer, got {v}"))
            }),
    }
}

fn string_list(alarm: &Value, key: &str) -> Vec<String> {
    alarm
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl CloudWatch {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        CloudWatch { client }
    }

    /// Puts the datums into `namespace`, at most [`MAX_DATUMS_PER_CALL`] per call.
    pub async fn put_metric_data(&self, namespace: &str, datums: &[Datum]) -> PortResult<()> {
        for batch in datums.chunks(MAX_DATUMS_PER_CALL) {
            let data = batch
                .iter()
                .map(|d| {
                    MetricDatum::builder()
                        .metric_name(&d.metric)
                        .set_dimensions(Some(
                            d.dimensions.iter().map(|(n, v)| dimension(n, v)).collect(),
                        ))
                        .value(d.value)
                        .unit(StandardUnit::from(d.unit.as_str()))
                        .timestamp(DateTime::from_secs(d.at))
                        .build()
                })
                .collect();
            self.client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(data))
                .send()
                .await
                .map_err(|e| {
                    port_error(
                        SERVICE,
                        &format!("PutMetricData ({} datums to {namespace})", batch.len()),
                        e,
                    )
                })?;
        }
        Ok(())
    }
}

#[async_trait]
impl DashboardStore for CloudWatch {
    async fn get_dashboard(&self, name: &str) -> PortResult<Option<String>> {
        match self
            .client
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.dashboard_body().map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_dashboard_not_found_error()) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(SERVICE, &format!("GetDashboard {name}"), e)),
        }
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> PortResult<Vec<String>> {
        let out = self
            .client
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("PutDashboard {name}"), e))?;
        Ok(out
            .dashboard_validation_messages()
            .iter()
            .map(|m| match m.data_path() {
                Some(path) => format!("{path}: {}", m.message().unwrap_or_default()),
                None => m.message().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// In the `alarms.json` and `composite-alarms.json` shapes, every page read.
    async fn describe_alarms(&self, prefix: &str) -> PortResult<Vec<Value>> {
        let pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| port_error(SERVICE, &format!("DescribeAlarms {prefix}*"), e))?;
        Ok(pages
            .iter()
            .flat_map(|page| page.metric_alarms())
            .map(alarm_json)
            .chain(
                pages
                    .iter()
                    .flat_map(|page| page.composite_alarms())
                    .map(composite_json),
            )
            .collect())
    }

    /// Creates or replaces one composite alarm from its `composite-alarms.json` shape.
    async fn put_composite_alarm(&self, alarm: &Value) -> PortResult<()> {
        let name = str_field(alarm, "alarmName")
            .ok_or_else(|| PortError::Rejected(format!("alarm without alarmName: {alarm}")))?;
        let rule = str_field(alarm, "alarmRule").ok_or_else(|| {
            PortError::Rejected(format!("composite alarm {name} has no alarmRule"))
        })?;
        let mut req = self
            .client
            .put_composite_alarm()
            .alarm_name(name)
            .alarm_rule(rule)
            .set_alarm_description(str_field(alarm, "alarmDescription").map(str::to_string))
            .set_actions_enabled(alarm.get("actionsEnabled").and_then(Value::as_bool));
        for a in string_list(alarm, "alarmActions") {
            req = req.alarm_actions(a);
        }
        for a in string_list(alarm, "okActions") {
            req = req.ok_actions(a);
        }
        req.send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("PutCompositeAlarm {name}"), e))?;
        Ok(())
    }

    /// Creates or replaces one alarm from its `alarms.json` shape. A field of the wrong type is
    /// refused naming the alarm and the field; what CloudWatch refuses names the alarm too.
    async fn put_metric_alarm(&self, alarm: &Value) -> PortResult<()> {
        let name = str_field(alarm, "alarmName")
            .ok_or_else(|| PortError::Rejected(format!("alarm without alarmName: {alarm}")))?;
        let mut req = self
            .client
            .put_metric_alarm()
            .alarm_name(name)
            .set_alarm_description(str_field(alarm, "alarmDescription").map(str::to_string))
            .set_namespace(str_field(alarm, "namespace").map(str::to_string))
            .set_metric_name(str_field(alarm, "metricName").map(str::to_string))
            .set_statistic(str_field(alarm, "statistic").map(Statistic::from))
            .set_extended_statistic(str_field(alarm, "extendedStatistic").map(str::to_string))
            .set_unit(str_field(alarm, "unit").map(StandardUnit::from))
            .set_period(int_field(alarm, name, "period")?)
            .set_evaluation_periods(int_field(alarm, name, "evaluationPeriods")?)
            .set_datapoints_to_alarm(int_field(alarm, name, "datapointsToAlarm")?)
            .set_threshold(alarm.get("threshold").and_then(Value::as_f64))
            .set_comparison_operator(
                str_field(alarm, "comparisonOperator").map(ComparisonOperator::from),
            )
            .set_treat_missing_data(str_field(alarm, "treatMissingData").map(str::to_string))
            .set_threshold_metric_id(str_field(alarm, "thresholdMetricId").map(str::to_string))
            .set_actions_enabled(alarm.get("actionsEnabled").and_then(Value::as_bool));
        for q in alarm
            .get("metrics")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            req = req.metrics(alarm_query(name, q)?);
        }
        for d in alarm
            .get("dimensions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (Some(n), Some(v)) = (str_field(d, "name"), str_field(d, "value")) else {
                return Err(PortError::Rejected(format!(
                    "alarm {name}: each dimension needs a name and a value, got {d}"
                )));
            };
            req = req.dimensions(dimension(n, v));
        }
        for a in string_list(alarm, "alarmActions") {
            req = req.alarm_actions(a);
        }
        for a in string_list(alarm, "okActions") {
            req = req.ok_actions(a);
        }
        for a in string_list(alarm, "insufficientDataActions") {
            req = req.insufficient_data_actions(a);
        }
        req.send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("PutMetricAlarm {name}"), e))?;
        Ok(())
    }
}

/// The metric reads of the charts (`dashboards report`) and of the console's overlay.
#[async_trait]
impl MetricReader for CloudWatch {
    /// The metrics of a namespace that have data (ListMetrics, every page), optionally only
    /// those of one name.
    async fn list_metrics(
        &self,
        namespace: &str,
        metric: Option<&str>,
    ) -> PortResult<Vec<MetricId>> {
        let pages = self
            .client
            .list_metrics()
            .namespace(namespace)
            .set_metric_name(metric.map(str::to_string))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| port_error(SERVICE, &format!("ListMetrics {namespace}"), e))?;
        let mut out: Vec<MetricId> = pages
            .iter()
            .flat_map(|page| page.metrics())
            .map(|m| MetricId {
                metric: m.metric_name().unwrap_or_default().to_string(),
                dimensions: m
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_string(),
                            d.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Runs the queries over `[start, end)` (seconds since the epoch), at most
    /// [`MAX_QUERIES_PER_CALL`] per call, every page read; one series per query, in order.
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: i64,
        end: i64,
    ) -> PortResult<Vec<MetricSeries>> {
        let mut by_id: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for batch in queries.chunks(MAX_QUERIES_PER_CALL) {
            let pages = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(batch.iter().map(data_query).collect()))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .scan_by(ScanBy::TimestampAscending)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| {
                    port_error(
                        SERVICE,
                        &format!("GetMetricData ({} queries)", batch.len()),
                        e,
                    )
                })?;
            for r in pages.iter().flat_map(|page| page.metric_data_results()) {
                let points = by_id
                    .entry(r.id().unwrap_or_default().to_string())
                    .or_default();
                points.extend(
                    r.timestamps()
                        .iter()
                        .zip(r.values())
                        .map(|(t, v)| (t.secs(), *v)),
                );
            }
        }
        Ok(queries
            .iter()
            .map(|q| {
                let mut points = by_id.remove(&q.id).unwrap_or_default();
                points.sort_by_key(|p| p.0);
                MetricSeries {
                    id: q.id.clone(),
                    points,
                }
            })
            .collect())
    }
}

fn data_query(q: &MetricQuery) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(&q.namespace)
        .metric_name(&q.metric)
        .set_dimensions(Some(
            q.dimensions.iter().map(|(n, v)| dimension(n, v)).collect(),
        ))
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(i32::try_from(q.period_seconds).unwrap_or(i32::MAX))
                .stat(&q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// One query of a metric-math alarm, from its camelCase shape (`id`, `expression` or
/// `metricStat {metric {namespace, metricName, dimensions}, period, stat}`, `label`,
/// `returnData`).
fn alarm_query(name: &str, q: &Value) -> PortResult<MetricDataQuery> {
    let id = str_field(q, "id")
        .ok_or_else(|| PortError::Rejected(format!("alarm {name}: a query without id: {q}")))?;
    let mut query = MetricDataQuery::builder()
        .id(id)
        .set_expression(str_field(q, "expression").map(str::to_string))
        .set_label(str_field(q, "label").map(str::to_string))
        .set_return_data(q.get("returnData").and_then(Value::as_bool));
    if let Some(stat) = q.get("metricStat") {
        let m = &stat["metric"];
        let mut metric = Metric::builder()
            .set_namespace(str_field(m, "namespace").map(str::to_string))
            .set_metric_name(str_field(m, "metricName").map(str::to_string));
        for d in m["dimensions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (Some(n), Some(v)) = (str_field(d, "name"), str_field(d, "value")) else {
                return Err(PortError::Rejected(format!(
                    "alarm {name}: query {id}: each dimension needs a name and a value, got {d}"
                )));
            };
            metric = metric.dimensions(dimension(n, v));
        }
        query = query.metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .set_period(int_field(stat, name, "period")?)
                .set_stat(str_field(stat, "stat").map(str::to_string))
                .build(),
        );
    }
    Ok(query.build())
}

/// A deployed query of a metric-math alarm, in the shape [`alarm_query`] reads.
fn query_json(q: &MetricDataQuery) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("id".into(), json!(q.id()));
    if let Some(e) = q.expression() {
        o.insert("expression".into(), json!(e));
    }
    if let Some(l) = q.label() {
        o.insert("label".into(), json!(l));
    }
    if let Some(s) = q.metric_stat() {
        let m = s.metric();
        o.insert(
            "metricStat".into(),
            json!({
                "metric": {
                    "namespace": m.and_then(Metric::namespace),
                    "metricName": m.and_then(Metric::metric_name),
                    "dimensions": m.map(|m| m.dimensions().iter().map(|d| json!({"name": d.name(), "value": d.value()})).collect::<Vec<_>>()).unwrap_or_default(),
                },
                "period": s.period(),
                "stat": s.stat(),
            }),
        );
    }
    // CloudWatch's default is true; the generator always says which.
    o.insert("returnData".into(), json!(q.return_data().unwrap_or(true)));
    Value::Object(o)
}

/// A deployed composite alarm in the `composite-alarms.json` shape.
fn composite_json(a: &aws_sdk_cloudwatch::types::CompositeAlarm) -> Value {
    json!({
        "alarmName": a.alarm_name(),
        "alarmRule": a.alarm_rule(),
        "alarmDescription": a.alarm_description(),
        "actionsEnabled": a.actions_enabled(),
        "alarmActions": a.alarm_actions(),
        "okActions": a.ok_actions(),
    })
}

/// A deployed alarm in the `alarms.json` shape; fields CloudWatch did not return are left out.
fn alarm_json(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> Value {
    let mut o = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.to_string(), v);
        }
    };
    put("alarmName", a.alarm_name().map(|s| json!(s)));
    put("alarmDescription", a.alarm_description().map(|s| json!(s)));
    put("namespace", a.namespace().map(|s| json!(s)));
    put("metricName", a.metric_name().map(|s| json!(s)));
    put(
        "dimensions",
        Some(Value::Array(
            a.dimensions()
                .iter()
                .map(|d| json!({"name": d.name(), "value": d.value()}))
                .collect(),
        )),
    );
    put("statistic", a.statistic().map(|s| json!(s.as_str())));
    put(
        "extendedStatistic",
        a.extended_statistic().map(|s| json!(s)),
    );
    put("unit", a.unit().map(|s| json!(s.as_str())));
    put("period", a.period().map(|n| json!(n)));
    put(
        "evaluationPeriods",
        a.evaluation_periods().map(|n| json!(n)),
    );
    put(
        "datapointsToAlarm",
        a.datapoints_to_alarm().map(|n| json!(n)),
    );
    put("threshold", a.threshold().map(|n| json!(n)));
    put(
        "comparisonOperator",
        a.comparison_operator().map(|s| json!(s.as_str())),
    );
    put("treatMissingData", a.treat_missing_data().map(|s| json!(s)));
    put("actionsEnabled", a.actions_enabled().map(|b| json!(b)));
    put(
        "thresholdMetricId",
        a.threshold_metric_id().map(|s| json!(s)),
    );
    if !a.metrics().is_empty() {
        put(
            "metrics",
            Some(Value::Array(a.metrics().iter().map(query_json).collect())),
        );
    }
    put("alarmActions", Some(json!(a.alarm_actions())));
    put("okActions", Some(json!(a.ok_actions())));
    put(
        "insufficientDataActions",
        Some(json!(a.insufficient_data_actions())),
    );
    Value::Object(o)
}

/// The data points of metric events, stamped with a time, in the [`NAMESPACE`] namespace.
pub fn datums(event: &MetricEvent, at: i64) -> Vec<Datum> {
    event
        .points()
        .into_iter()
        .map(|(name, value, dim)| Datum {
            metric: name.as_str().to_string(),
            dimensions: dim
                .map(|(n, v)| vec![(n.to_string(), v.to_string())])
                .unwrap_or_default(),
            value: value as f64,
            unit: name.unit().to_string(),
            at,
        })
        .collect()
}

/// The [`Metrics`] port over PutMetricData, for the local runner (Lambdas emit Embedded Metric
/// Format instead). `record` only buffers, so a handler never waits on CloudWatch; `flush`
/// sends what was buffered, in batches, and keeps it for the next flush if CloudWatch fails.
pub struct CloudWatchMetrics {
    cloudwatch: CloudWatch,
    clock: Arc<dyn Clock>,
    buffer: Mutex<Vec<Datum>>,
}

impl CloudWatchMetrics {
    pub fn new(cloudwatch: CloudWatch, clock: Arc<dyn Clock>) -> Self {
        CloudWatchMetrics {
            cloudwatch,
            clock,
            buffer: Mutex::new(Vec::new()),
        }
    }

    /// How many datums wait for the next flush.
    pub fn pending(&self) -> usize {
        self.buffer.lock().map_or(0, |b| b.len())
    }

    /// Sends the buffered datums; returns how many were sent.
    pub async fn flush(&self) -> PortResult<usize> {
        let taken = match self.buffer.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return Ok(0),
        };
        if taken.is_empty() {
            return Ok(0);
        }
        match self.cloudwatch.put_metric_data(NAMESPACE, &taken).await {
            Ok(()) => Ok(taken.len()),
            Err(e) => {
                // Put back in front of anything recorded meanwhile, for the next flush. A batch
                // that went through before the failure may be sent twice: a counter one off
                // beats a lost one for charts.
                if let Ok(mut b) = self.buffer.lock() {
                    let newer = std::mem::replace(&mut *b, taken);
                    b.extend(newer);
                }
                Err(e)
            }
        }
    }
}

impl Metrics for CloudWatchMetrics {
    fn record(&self, event: MetricEvent) {
        let at = self.clock.now().timestamp();
        if let Ok(mut b) = self.buffer.lock() {
            b.extend(datums(&event, at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowdfund_core::metrics::MetricName;
    use crowdfund_core::money::{Currency, Money};

    /// An approved payment becomes a count and an amount, by project, at the clock's time.
    #[test]
    fn events_become_datums_with_units_and_dimensions() {
        let event = MetricEvent::PaymentApproved {
            project_id: "prj-1".into(),
            amount: Money::new(50_000, Currency::KRW),
        };
        let d = datums(&event, 1_700_000_000);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].metric, MetricName::PaymentsApproved.as_str());
        assert_eq!(d[0].unit, "Count");
        assert_eq!(d[1].value, 50_000.0);
        assert_eq!(d[1].unit, MetricName::AmountRaised.unit());
        assert!(d.iter().all(|x| x.dimensions
            == vec![("ProjectId".to_string(), "prj-1".to_string())]
            && x.at == 1_700_000_000));
    }
}
