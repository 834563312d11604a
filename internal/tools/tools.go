//go:build tools

// Package tools pins modules that later packages import, so go mod tidy keeps them.
package tools

import (
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/expr-lang/expr"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/go-ldap/ldap/v3"
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jimlambrt/gldap"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/sethvargo/go-envconfig"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "golang.org/x/text/unicode/norm"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
	_ "pgregory.net/rapid"
)
