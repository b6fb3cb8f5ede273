// Command infra is Buzón's CDK app: it synthesizes the one stack into the
// cloud assembly directory (CDK_OUTDIR, or what the cdk CLI passes). The
// function binaries must be built first: `make synth` does both.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	if err := CheckAssets(DefaultAssetRoot); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	NewStack(app, "Buzon", &StackProps{AssetRoot: DefaultAssetRoot})
	app.Synth(nil)
}
