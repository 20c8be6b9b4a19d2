// Command cancel-provider is the Lambda function of POST /providers/{id}/cancel:
// it cancels an unfinished migration, closes its consent link and stops its
// execution.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

var (
	_ Store            = (*store.Store)(nil)
	_ ExecutionStopper = (*workflow.Executions)(nil)
)

func main() {
	logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	stateMachine := env.Required("STATE_MACHINE_ARN")
	if err := env.Err(); err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconf.Load(context.Background())
	if err != nil {
		slog.Error("cannot load the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:           store.New(dynamodb.NewFromConfig(awsCfg), table),
		Executions:      &workflow.Executions{Client: sfn.NewFromConfig(awsCfg), StateMachineARN: stateMachine},
		StateMachineARN: stateMachine,
		Now:             time.Now,
	}
	lambda.Start(api.Handle(h.Handle))
}
