// Command infra is Buzón's CDK app: it synthesizes the one stack into the
// cloud assembly directory (CDK_OUTDIR, or what the cdk CLI passes). The
// function binaries must be built first: `make synth` does both.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/buzon/buzon/shared/deploy"
)

func main() {
	if err := CheckAssets(deploy.Buzon, DefaultAssetRoot); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	if _, err := NewStack(app, "Buzon", &StackProps{AssetRoot: DefaultAssetRoot, LogLevel: os.Getenv("LOG_LEVEL")}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	app.Synth(nil)
}
