# Tandem on AWS: EKS (new or existing), RDS PostgreSQL, ElastiCache Redis, and the chart.
#
# Tandem speaks TLS to PostgreSQL (`?sslmode=require`) and to Redis (`rediss://`), but this
# module does not wire in the provider's CA yet, so the database's rds.force_ssl is off and
# ElastiCache has no in-transit encryption; both are reachable only from the cluster's nodes
# inside the VPC. Requiring TLS on both is the next step (see README.md).

provider "aws" {
  region = var.region
  default_tags {
    tags = merge({ "app.kubernetes.io/name" = "tandem" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

locals {
  cluster_name = var.create_cluster ? aws_eks_cluster.this[0].name : var.cluster_name
}

# ---- EKS ---------------------------------------------------------------------------------------

resource "aws_kms_key" "this" {
  description             = "${var.name}: EKS secrets, RDS, ElastiCache and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_iam_role" "cluster" {
  count = var.create_cluster ? 1 : 0
  name  = "${var.name}-eks-cluster"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "eks.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "cluster" {
  count      = var.create_cluster ? 1 : 0
  role       = aws_iam_role.cluster[0].name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_cloudwatch_log_group" "eks" {
  count             = var.create_cluster ? 1 : 0
  name              = "/aws/eks/${var.name}/cluster"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_eks_cluster" "this" {
  count    = var.create_cluster ? 1 : 0
  name     = var.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster[0].arn

  vpc_config {
    subnet_ids              = var.private_subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = length(var.cluster_endpoint_public_cidrs) > 0
    public_access_cidrs     = length(var.cluster_endpoint_public_cidrs) > 0 ? var.cluster_endpoint_public_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.this.arn
    }
  }

  access_config {
    authentication_mode = "API"
  }

  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  depends_on = [aws_iam_role_policy_attachment.cluster, aws_cloudwatch_log_group.eks]
}

resource "aws_iam_role" "node" {
  count = var.create_cluster ? 1 : 0
  name  = "${var.name}-eks-node"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = var.create_cluster ? toset([
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
  ]) : toset([])
  role       = aws_iam_role.node[0].name
  policy_arn = each.value
}

resource "aws_eks_node_group" "this" {
  count           = var.create_cluster ? 1 : 0
  cluster_name    = aws_eks_cluster.this[0].name
  node_group_name = "${var.name}-nodes"
  node_role_arn   = aws_iam_role.node[0].arn
  subnet_ids      = var.private_subnet_ids
  instance_types  = [var.node_instance_type]
  ami_type        = startswith(var.node_instance_type, "m7g") || strcontains(var.node_instance_type, "g.") ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD"

  scaling_config {
    min_size     = var.node_count
    desired_size = var.node_count
    max_size     = var.node_count * 2
  }

  update_config {
    max_unavailable = 1
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

data "aws_eks_cluster" "this" {
  name       = local.cluster_name
  depends_on = [aws_eks_node_group.this]
}

data "aws_eks_cluster_auth" "this" {
  name = local.cluster_name
}

data "aws_security_group" "cluster" {
  id = data.aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

# ---- PostgreSQL (RDS) --------------------------------------------------------------------------

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "aws_db_subnet_group" "this" {
  name       = "${var.name}-db"
  subnet_ids = var.private_subnet_ids
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL and Redis for Tandem: reachable from the EKS cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "PostgreSQL from the cluster"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [data.aws_security_group.cluster.id]
  }

  ingress {
    description     = "Redis from the cluster"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [data.aws_security_group.cluster.id]
  }
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-pg16"
  family = "postgres16"

  # TLS is not required yet: see the top of this file.
  parameter {
    name  = "rds.force_ssl"
    value = "0"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "monitoring.rds.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_161:Tandem logs in with a password in TANDEM_DATABASE_URL; its client has no IAM token support
  #checkov:skip=CKV2_AWS_69:rds.force_ssl is off because TLS is not required yet (Tandem speaks it; this module does not wire in the provider's CA); the instance is private and reachable from the cluster's security group only
  identifier                            = var.name
  engine                                = "postgres"
  engine_version                        = "16"
  instance_class                        = var.db_instance_class
  allocated_storage                     = var.db_allocated_storage_gb
  max_allocated_storage                 = var.db_allocated_storage_gb * 10
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = aws_kms_key.this.arn
  db_name                               = "tandem"
  username                              = "tandem"
  password                              = random_password.db.result
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  vpc_security_group_ids                = [aws_security_group.db.id]
  parameter_group_name                  = aws_db_parameter_group.this.name
  multi_az                              = var.db_multi_az
  publicly_accessible                   = false
  backup_retention_period               = var.db_backup_retention_days
  copy_tags_to_snapshot                 = true
  deletion_protection                   = true
  skip_final_snapshot                   = false
  final_snapshot_identifier             = "${var.name}-final"
  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  iam_database_authentication_enabled   = false
  apply_immediately                     = false
  performance_insights_retention_period = 7
}

# ---- Redis (ElastiCache) -----------------------------------------------------------------------

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.private_subnet_ids
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV_AWS_30:TLS is not required yet (Tandem speaks it; this module does not wire in the provider's CA); Redis is reachable from the cluster's security group only
  #checkov:skip=CKV_AWS_31:An AUTH token needs in-transit encryption on ElastiCache, which Tandem's client cannot speak yet
  #checkov:skip=CKV2_AWS_50:Multi-AZ failover is on; Tandem keeps nothing in Redis (pub/sub only), so there is nothing to back up
  replication_group_id       = var.name
  description                = "Tandem pub/sub between replicas"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.db.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.this.arn
  transit_encryption_enabled = false
  auto_minor_version_upgrade = true
  snapshot_retention_limit   = 0
}

# ---- Tandem ------------------------------------------------------------------------------------

provider "kubernetes" {
  host                   = data.aws_eks_cluster.this.endpoint
  cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
  token                  = data.aws_eks_cluster_auth.this.token
}

provider "helm" {
  kubernetes {
    host                   = data.aws_eks_cluster.this.endpoint
    cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
    token                  = data.aws_eks_cluster_auth.this.token
  }
}

resource "kubernetes_namespace" "this" {
  metadata {
    name = var.namespace
  }
}

resource "kubernetes_secret" "tandem" {
  metadata {
    name      = "${var.name}-connections"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  data = {
    "database-url" = "postgres://tandem:${random_password.db.result}@${aws_db_instance.this.address}:5432/tandem"
    "redis-url"    = "redis://${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
    "smtp-url"     = var.smtp_url
  }
}

resource "helm_release" "tandem" {
  name      = var.name
  namespace = kubernetes_namespace.this.metadata[0].name
  chart     = var.chart_path
  wait      = true
  timeout   = 600

  values = [yamlencode({
    mode      = var.chart_mode
    publicUrl = var.public_url
    image     = { repository = var.image_repository, tag = var.image_tag }
    config = {
      region          = var.region
      superuserEmails = var.superuser_emails
    }
    secrets = {
      databaseUrl = { value = "", existingSecret = kubernetes_secret.tandem.metadata[0].name, key = "database-url" }
      redisUrl    = { value = "", existingSecret = kubernetes_secret.tandem.metadata[0].name, key = "redis-url" }
      smtpUrl     = { value = "", existingSecret = var.smtp_url == "" ? "" : kubernetes_secret.tandem.metadata[0].name, key = "smtp-url" }
    }
    all      = { replicas = 2, autoscaling = { enabled = true, minReplicas = 2, maxReplicas = 10 } }
    realtime = { replicas = 2, autoscaling = { enabled = true, minReplicas = 2, maxReplicas = 20 } }
    ingress  = { enabled = true, controller = "alb", className = "alb", host = trimprefix(var.public_url, "https://") }
    # The ALB reaches pods by their IPs from inside the VPC.
    networkPolicy = { extraIngressFrom = [{ ipBlock = { cidr = data.aws_vpc.this.cidr_block } }] }
  })]
}

data "aws_vpc" "this" {
  id = var.vpc_id
}
