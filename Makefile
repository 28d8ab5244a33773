# `sam build` runs build-<LogicalId> for each function of template.yaml (BuildMethod: makefile) with
# ARTIFACTS_DIR set to that function's build folder. scripts/build.mjs bundles the function into it, as
# `npm run build` bundles them all into dist/lambda/. Needs node_modules: run `npm ci` first.
FUNCTIONS := ListRepositoriesFunction CollectRepositoryJobsFunction AggregateDemandFunction DecideFunction \
	ScaleUpFunction ScaleDownFunction RegisterRunnersFunction WebhookFunction RedeliverWebhooksFunction \
	ListenFunction

.PHONY: $(addprefix build-,$(FUNCTIONS))
$(addprefix build-,$(FUNCTIONS)):
	node scripts/build.mjs --function $(@:build-%=%) --outdir "$(ARTIFACTS_DIR)"
