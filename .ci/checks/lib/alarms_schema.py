"""Checks alarms.json and composite-alarms.json files against the shape modules/monitoring
loads (see its README).

Always checks terraform/modules/monitoring/examples/; also checks every target/dashboards/*/
the dashboards generator has written, when there are any.
"""

import glob
import json
import sys

REQUIRED = {"alarmName": str, "evaluationPeriods": int, "comparisonOperator": str}
# A one-metric alarm has these; a metric-math alarm has `metrics` instead.
SINGLE = {"namespace": str, "metricName": str, "period": int, "threshold": (int, float)}
OPTIONAL = {"alarmDescription": str, "statistic": str, "extendedStatistic": str,
            "dimensions": list, "datapointsToAlarm": int, "unit": str, "treatMissingData": str,
            "actionsEnabled": bool, "alarmActions": list, "okActions": list,
            "metrics": list, "thresholdMetricId": str, **SINGLE}
QUERY_KEYS = {"id", "expression", "label", "returnData", "metricStat"}
STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
OPERATORS = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
             "LessThanOrEqualToThreshold"}
# Against an anomaly band (thresholdMetricId).
BAND_OPERATORS = {"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold",
                  "GreaterThanUpperThreshold"}
COMPOSITE = {"alarmName": str, "alarmRule": str}
COMPOSITE_OPTIONAL = {"alarmDescription": str, "actionsEnabled": bool, "alarmActions": list,
                      "okActions": list}


def load_list(path, what):
    """The JSON list in `path`, or the problem with it."""
    try:
        with open(path) as f:
            items = json.load(f)
    except (OSError, ValueError) as e:
        return None, [f"{path}: {e}"]
    if not isinstance(items, list):
        return None, [f"{path}: must be a JSON list of {what} objects"]
    return items, []


def check(path):
    alarms, problems = load_list(path, "alarm")
    if alarms is None:
        return problems
    names = set()
    for i, a in enumerate(alarms):
        where = f"{path}[{i}]"
        if not isinstance(a, dict):
            problems.append(f"{where}: must be an object")
            continue
        where = f"{path}[{i}] ({a.get('alarmName', '?')})"
        for key, kind in REQUIRED.items():
            if key not in a:
                problems.append(f"{where}: missing {key}")
            elif not isinstance(a[key], kind) or isinstance(a[key], bool) and kind is not bool:
                problems.append(f"{where}: {key} has the wrong type")
        for key, value in a.items():
            if key in REQUIRED:
                continue
            if key not in OPTIONAL:
                problems.append(f"{where}: unknown key {key} (keys are camelCase PutMetricAlarm fields)")
            elif not isinstance(value, OPTIONAL[key]):
                problems.append(f"{where}: {key} has the wrong type")
        if "metrics" in a:
            problems += check_math(where, a)
        else:
            for key in SINGLE:
                if key not in a:
                    problems.append(f"{where}: missing {key} (or give metrics)")
            if ("statistic" in a) == ("extendedStatistic" in a):
                problems.append(f"{where}: set exactly one of statistic and extendedStatistic")
            if "statistic" in a and a["statistic"] not in STATISTICS:
                problems.append(f"{where}: statistic must be one of {sorted(STATISTICS)}")
            if a.get("comparisonOperator") not in OPERATORS:
                problems.append(f"{where}: comparisonOperator must be one of {sorted(OPERATORS)}")
        for d in a.get("dimensions", []):
            if not (isinstance(d, dict) and set(d) == {"name", "value"}):
                problems.append(f"{where}: each dimension is {{\"name\": ..., \"value\": ...}}")
        if a.get("alarmName") in names:
            problems.append(f"{where}: duplicate alarmName")
        names.add(a.get("alarmName"))
    return problems


def check_math(where, a):
    """A metric-math alarm: queries of known keys, each an expression or a metricStat."""
    problems = []
    for key in ("namespace", "metricName", "statistic", "extendedStatistic", "period"):
        if key in a:
            problems.append(f"{where}: {key} and metrics together (PutMetricAlarm takes one)")
    ids = set()
    for q in a["metrics"]:
        if not isinstance(q, dict) or not set(q) <= QUERY_KEYS or "id" not in q:
            problems.append(f"{where}: each query is an object of {sorted(QUERY_KEYS)} with an id")
            continue
        ids.add(q["id"])
        if ("expression" in q) == ("metricStat" in q):
            problems.append(f"{where}: query {q['id']} needs exactly one of expression and metricStat")
        stat = q.get("metricStat")
        if stat is not None and not (isinstance(stat, dict) and {"metric", "period", "stat"} <= set(stat)
                                     and {"namespace", "metricName", "dimensions"} <= set(stat["metric"])):
            problems.append(f"{where}: query {q['id']}: metricStat needs metric{{namespace, metricName, dimensions}}, period, stat")
    band = a.get("thresholdMetricId")
    operators = BAND_OPERATORS if band else OPERATORS
    if a.get("comparisonOperator") not in operators:
        problems.append(f"{where}: comparisonOperator must be one of {sorted(operators)}")
    if band and band not in ids:
        problems.append(f"{where}: thresholdMetricId {band} is not a query id")
    if not band and "threshold" not in a:
        problems.append(f"{where}: a math alarm without a band needs a threshold")
    return problems


def check_composites(path, alarm_names):
    """composite-alarms.json: a list of {alarmName, alarmRule, ...} whose rules name alarms."""
    composites, problems = load_list(path, "composite alarm")
    if composites is None:
        return problems
    for i, c in enumerate(composites):
        where = f"{path}[{i}] ({c.get('alarmName', '?') if isinstance(c, dict) else '?'})"
        if not isinstance(c, dict):
            problems.append(f"{where}: must be an object")
            continue
        for key, kind in COMPOSITE.items():
            if not isinstance(c.get(key), kind):
                problems.append(f"{where}: missing {key}")
        for key, value in c.items():
            if key not in COMPOSITE and not isinstance(value, COMPOSITE_OPTIONAL.get(key, type(None))):
                problems.append(f"{where}: unknown or mistyped key {key}")
        for part in str(c.get("alarmRule", "")).split('ALARM("')[1:]:
            name = part.split('"')[0]
            if name not in alarm_names:
                problems.append(f"{where}: its rule names {name}, not an alarm of alarms.json")
    return problems


def main():
    dirs = ["terraform/modules/monitoring/examples"]
    dirs += sorted(d.rsplit("/", 1)[0] for d in glob.glob("target/dashboards/*/alarms.json"))
    problems = []
    for d in dirs:
        problems += check(f"{d}/alarms.json")
        try:
            with open(f"{d}/alarms.json") as f:
                names = {a.get("alarmName") for a in json.load(f) if isinstance(a, dict)}
        except (OSError, ValueError, TypeError):
            names = set()
        problems += check_composites(f"{d}/composite-alarms.json", names)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"alarms.json and composite-alarms.json: {len(dirs)} directories, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
