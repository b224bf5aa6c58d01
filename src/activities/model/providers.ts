import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ApplicationFailure } from '@temporalio/common';
import type { LanguageModel } from 'ai';
import type { Runtime } from '../../shared/agent-type';
import { Failure } from '../../shared/errors';

/** The key provider limits are counted under: the provider, plus the host when a base URL is set. */
export function providerKey(runtime: Runtime): string {
  return runtime.baseUrl ? `${runtime.provider}@${new URL(runtime.baseUrl).host}` : runtime.provider;
}

/**
 * The AI SDK model an agent type's runtime names, with its API key read from `env` (`apiKeyEnv`, else the provider's
 * usual variable). A missing key is a non-retryable `ModelAuthFailed`; a provider without a model, `BadInput`.
 */
export function languageModel(runtime: Runtime, env: NodeJS.ProcessEnv): LanguageModel {
  const model = runtime.model as string;
  const key = (fallback?: string) => {
    const name = runtime.apiKeyEnv ?? fallback;
    return name ? env[name] : undefined;
  };
  switch (runtime.provider) {
    case 'openai': {
      const apiKey = key('OPENAI_API_KEY');
      if (!apiKey) throw missingKey(runtime.apiKeyEnv ?? 'OPENAI_API_KEY');
      // Chat completions: the protocol every OpenAI-compatible server speaks too.
      return createOpenAI({ apiKey, ...(runtime.baseUrl ? { baseURL: runtime.baseUrl } : {}) }).chat(model);
    }
    case 'anthropic': {
      const apiKey = key('ANTHROPIC_API_KEY');
      if (!apiKey) throw missingKey(runtime.apiKeyEnv ?? 'ANTHROPIC_API_KEY');
      return createAnthropic({ apiKey, ...(runtime.baseUrl ? { baseURL: runtime.baseUrl } : {}) })(model);
    }
    case 'openai-compatible': {
      const apiKey = key();
      if (runtime.apiKeyEnv && !apiKey) throw missingKey(runtime.apiKeyEnv);
      return createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: runtime.baseUrl as string,
        ...(apiKey ? { apiKey } : {}),
        includeUsage: true,
        // An output contract's schema goes to the server as response_format json_schema (llama.cpp, vLLM and Ollama
        // constrain the answer to it); `structuredOutputs: false` sends json_object for servers that only know that.
        supportsStructuredOutputs: runtime.structuredOutputs ?? true,
      }).chatModel(model);
    }
    default:
      throw ApplicationFailure.nonRetryable(`provider "${runtime.provider}" has no model`, Failure.BadInput);
  }
}

function missingKey(name: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `the API key variable ${name} is not set in the worker's environment`,
    Failure.ModelAuthFailed,
  );
}
