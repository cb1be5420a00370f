"""Checks alarms.json files against the shape modules/monitoring loads (see its README).

Always checks terraform/modules/monitoring/examples/alarms.json; also checks every
target/dashboards/*/alarms.json the dashboards generator has written, when there are any.
"""

import glob
import json
import sys

REQUIRED = {"alarmName": str, "namespace": str, "metricName": str, "period": int,
            "evaluationPeriods": int, "threshold": (int, float), "comparisonOperator": str}
OPTIONAL = {"alarmDescription": str, "statistic": str, "extendedStatistic": str,
            "dimensions": list, "datapointsToAlarm": int, "unit": str, "treatMissingData": str,
            "actionsEnabled": bool, "alarmActions": list, "okActions": list}
STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
# Static thresholds only: the anomaly-band operators need metric math, which the module omits.
OPERATORS = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
             "LessThanOrEqualToThreshold"}


def check(path):
    problems = []
    try:
        with open(path) as f:
            alarms = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path}: {e}"]
    if not isinstance(alarms, list):
        return [f"{path}: must be a JSON list of alarm objects"]
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


def main():
    paths = ["terraform/modules/monitoring/examples/alarms.json"]
    paths += sorted(glob.glob("target/dashboards/*/alarms.json"))
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p, file=sys.stderr)
    print(f"alarms.json: {len(paths)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
