variable "name" {
  description = "Name prefix for every resource (letters, digits and hyphens)."
  type        = string
  default     = "tandem"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must start with a letter and hold 2 to 31 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region, e.g. eu-west-1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "vpc_id" {
  description = "The VPC that holds the cluster, the database and Redis."
  type        = string
  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets in at least two availability zones, for nodes, RDS and ElastiCache."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "give at least two private subnets, in different availability zones."
  }
}

variable "create_cluster" {
  description = "true: create an EKS cluster; false: install into the existing cluster named by cluster_name."
  type        = bool
  default     = true
}

variable "cluster_name" {
  description = "The existing EKS cluster to install into when create_cluster is false."
  type        = string
  default     = ""
  validation {
    condition     = var.cluster_name == "" || can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "cluster_name must be a valid EKS cluster name."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version for a new cluster."
  type        = string
  default     = "1.33"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "cluster_endpoint_public_cidrs" {
  description = "CIDRs allowed to reach a new cluster's public API endpoint; empty makes the endpoint private only."
  type        = list(string)
  default     = []
}

variable "node_instance_type" {
  description = "EC2 type of the nodes. The sizing guide: one vCPU carries ~2,400 active sessions."
  type        = string
  default     = "m7g.large"
}

variable "node_count" {
  description = "Nodes in the managed node group (min; max is twice this)."
  type        = number
  default     = 3
  validation {
    condition     = var.node_count >= 2 && var.node_count <= 100
    error_message = "node_count must be between 2 and 100."
  }
}

variable "db_instance_class" {
  description = "RDS instance class for PostgreSQL."
  type        = string
  default     = "db.m7g.large"
  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS class such as db.m7g.large."
  }
}

variable "db_allocated_storage_gb" {
  description = "Initial PostgreSQL storage in GiB (it grows automatically to 10 times this)."
  type        = number
  default     = 50
  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 16384
    error_message = "db_allocated_storage_gb must be between 20 and 16384."
  }
}

variable "db_multi_az" {
  description = "Run PostgreSQL with a standby in another availability zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated PostgreSQL backups (point-in-time recovery window)."
  type        = number
  default     = 14
  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type (Tandem uses Redis for pub/sub only; small is enough)."
  type        = string
  default     = "cache.t4g.small"
  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "redis_node_type must be an ElastiCache type such as cache.t4g.small."
  }
}

variable "chart_path" {
  description = "Path to the Tandem Helm chart (helm/tandem of this repository) or a chart reference."
  type        = string
  default     = "../../helm/tandem"
}

variable "namespace" {
  description = "Kubernetes namespace for Tandem."
  type        = string
  default     = "tandem"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label."
  }
}

variable "image_repository" {
  description = "Where the Tandem image (make image) was pushed, e.g. an ECR repository URL."
  type        = string
}

variable "image_tag" {
  description = "The image tag to run."
  type        = string
  default     = "0.1.0"
  validation {
    condition     = var.image_tag != "latest" && length(var.image_tag) > 0
    error_message = "image_tag must name a release, not latest."
  }
}

variable "public_url" {
  description = "The https URL browsers reach Tandem at (TANDEM_PUBLIC_URL)."
  type        = string
  validation {
    condition     = can(regex("^https://[^/]+$", var.public_url))
    error_message = "public_url must be https://host with no path."
  }
}

variable "smtp_url" {
  description = "TANDEM_SMTP_URL for sign-in emails, e.g. smtps://user:password@email-smtp.eu-west-1.amazonaws.com:465. Empty: links are logged."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.smtp_url == "" || can(regex("^smtps?://", var.smtp_url))
    error_message = "smtp_url must start with smtp:// or smtps://."
  }
}

variable "superuser_emails" {
  description = "The instance's superusers (TANDEM_SUPERUSER_EMAILS)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.superuser_emails : can(regex("^[^@,\\s]+@[^@,\\s]+$", e))])
    error_message = "each superuser email must be an address without commas."
  }
}

variable "chart_mode" {
  description = "The chart's mode: all (one Deployment) or split (api and realtime)."
  type        = string
  default     = "all"
  validation {
    condition     = contains(["all", "split"], var.chart_mode)
    error_message = "chart_mode must be all or split."
  }
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}
