data "aws_caller_identity" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  roles = ["funding", "funding-rw", "payment"]

  # The methods that change project totals, with the priorities of their two rules: forwarded
  # to funding-rw from the VPC, refused from elsewhere. GET and HEAD are reads and stay on the
  # default action (funding).
  funding_rw_write_priorities = {
    POST   = { forward = 30, refused = 40 }
    PUT    = { forward = 31, refused = 41 }
    PATCH  = { forward = 32, refused = 42 }
    DELETE = { forward = 33, refused = 43 }
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_76:the attached web ACL (modules/waf) runs AWSManagedRulesKnownBadInputsRuleSet (Log4j); AnonymousIpList is left out because its hosting-provider list would block the VPC's own NAT-originated calls; checkov does not follow the ACL across modules
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [var.security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.waf_acl_arn
}

resource "aws_lb_target_group" "role" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; the hop to the task stays inside the private subnets
  for_each = toset(local.roles)

  name                 = "${var.name}-${each.key}"
  port                 = var.api_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
    timeout             = 5
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  # Everything not matched below is a read: the funding role.
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.role["funding"].arn
  }
}

# Listener rules, in priority order (the lowest number is evaluated first; no match: the default
# action above). The API serves the same paths for reads on funding and writes on funding-rw,
# so the project rules match the method as well as the path.
#   20     /payments, /payments/*                     -> payment
#   30-33  writes on /projects, /projects/* from VPC  -> funding-rw
#   40-43  the same writes from anywhere else         -> 403
# The numbers skip 10 and 11, which earlier rules held, so one apply can create these while it
# destroys those without two rules wanting the same priority.

# Checkout and payment state. Its paths share nothing with the project rules, so its place
# among them does not matter.
resource "aws_lb_listener_rule" "payment" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 20

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.role["payment"].arn
  }

  condition {
    path_pattern {
      values = var.payment_paths
    }
  }
}

# funding-rw changes money totals, so only calls from inside the VPC reach it: funding_update
# runs in the private subnets and leaves through the NAT gateways' addresses. One rule per
# method: an ALB rule holds at most 5 condition values (3 per condition), and two paths plus up
# to two NAT addresses leave room for one method.
resource "aws_lb_listener_rule" "funding_rw" {
  for_each = local.funding_rw_write_priorities

  listener_arn = aws_lb_listener.https.arn
  priority     = each.value.forward

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.role["funding-rw"].arn
  }

  condition {
    path_pattern {
      values = var.funding_rw_paths
    }
  }

  condition {
    http_request_method {
      values = [each.key]
    }
  }

  condition {
    source_ip {
      values = var.internal_source_cidrs
    }
  }
}

# The same writes from anywhere else. These come after the forwards (higher numbers), so they
# only see the writes that did not come from the VPC.
resource "aws_lb_listener_rule" "funding_rw_refused" {
  for_each = local.funding_rw_write_priorities

  listener_arn = aws_lb_listener.https.arn
  priority     = each.value.refused

  action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = "{\"error\":\"forbidden\"}"
      status_code  = "403"
    }
  }

  condition {
    path_pattern {
      values = var.funding_rw_paths
    }
  }

  condition {
    http_request_method {
      values = [each.key]
    }
  }
}

# --- access logs ---------------------------------------------------------------------------

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:access logs are rebuildable evidence, not worth a second region
  #checkov:skip=CKV_AWS_145:ALB log delivery only supports SSE-S3, not SSE-KMS
  #checkov:skip=CKV_AWS_18:this is the log bucket; logging it into itself would loop
  #checkov:skip=CKV2_AWS_62:nothing consumes events of new log objects
  bucket_prefix = "${var.name}-alb-logs-"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "ElbLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  # Regions opened after 2022 deliver through this service principal instead.
  statement {
    sid       = "ElbLogDeliveryService"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json
}
