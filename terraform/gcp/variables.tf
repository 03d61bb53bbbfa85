variable "project_id" {
  description = "The Google Cloud project."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id."
  }
}

variable "name" {
  description = "Name prefix for every resource."
  type        = string
  default     = "tandem"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must start with a letter and hold 2 to 21 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "Region, e.g. europe-west1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "network" {
  description = "Self link or name of the VPC network the cluster, Cloud SQL (private IP) and Memorystore share."
  type        = string
  default     = "default"
}

variable "subnetwork" {
  description = "Subnetwork for a new cluster's nodes."
  type        = string
  default     = "default"
}

variable "create_cluster" {
  description = "true: create a regional GKE cluster; false: install into the existing cluster named by cluster_name."
  type        = bool
  default     = true
}

variable "cluster_name" {
  description = "The existing GKE cluster (in region) when create_cluster is false."
  type        = string
  default     = ""
}

variable "master_authorized_cidrs" {
  description = "CIDRs allowed to reach the new cluster's control plane."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.master_authorized_cidrs : can(cidrhost(c, 0))])
    error_message = "each entry must be a CIDR such as 203.0.113.0/24."
  }
}

variable "node_machine_type" {
  description = "Machine type of the nodes. The sizing guide: one vCPU carries ~2,400 active sessions."
  type        = string
  default     = "e2-standard-4"
}

variable "nodes_per_zone" {
  description = "Nodes per zone in the regional node pool."
  type        = number
  default     = 1
  validation {
    condition     = var.nodes_per_zone >= 1 && var.nodes_per_zone <= 50
    error_message = "nodes_per_zone must be between 1 and 50."
  }
}

variable "db_tier" {
  description = "Cloud SQL machine tier for PostgreSQL."
  type        = string
  default     = "db-custom-2-7680"
  validation {
    condition     = startswith(var.db_tier, "db-")
    error_message = "db_tier must be a Cloud SQL tier such as db-custom-2-7680."
  }
}

variable "db_disk_size_gb" {
  description = "Initial Cloud SQL disk in GB (it grows automatically)."
  type        = number
  default     = 50
  validation {
    condition     = var.db_disk_size_gb >= 10
    error_message = "db_disk_size_gb must be at least 10."
  }
}

variable "db_high_availability" {
  description = "REGIONAL Cloud SQL (a standby in another zone) instead of ZONAL."
  type        = bool
  default     = true
}

variable "redis_memory_gb" {
  description = "Memorystore capacity in GB (Tandem uses Redis for pub/sub only)."
  type        = number
  default     = 1
  validation {
    condition     = var.redis_memory_gb >= 1 && var.redis_memory_gb <= 300
    error_message = "redis_memory_gb must be between 1 and 300."
  }
}

variable "chart_path" {
  description = "Path to the Tandem Helm chart (helm/tandem of this repository)."
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
  description = "Where the Tandem image (make image) was pushed, e.g. europe-docker.pkg.dev/PROJECT/REPO/tandem."
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
  description = "TANDEM_SMTP_URL for sign-in emails. Empty: links are logged."
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
