export { planWorkflow } from './plan';
export { agentTaskWorkflow } from './agent-task';
export { agentPoolWorkflow } from './pool';
