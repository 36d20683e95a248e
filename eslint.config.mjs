// ESLint 9 flat config: ESLint's and typescript-eslint's recommended rules,
// the Jupyter plugin's, and Prettier's switch-off of formatting rules.
import js from '@eslint/js';
import jupyter from '@jupyter/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'extension/lib/',
      'extension/labextension/',
      'node_modules/',
      'coverage/',
      '.yarn/',
      'extension/server/',
      'extension/jupyter-config/'
    ]
  },
  {
    files: ['**/*.{js,mjs,ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended]
  },
  ...jupyter.configs.recommended.map(config => ({
    ...config,
    plugins: { jupyter }
  })),
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: {
        project: './tsconfig.test.json',
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      // The sidebar, its model and the cell markers are needed as soon as the
      // application starts (a restored notebook shows its roles at once); the
      // logs tab is loaded when first opened.
      'jupyter/prefer-lazy-imports': [
        'warn',
        {
          ignoreImports: [
            './markers',
            './model',
            './notebook',
            './panel',
            './publisher'
          ]
        }
      ],
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'none', caughtErrors: 'none' }
      ],
      curly: ['error', 'all'],
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    files: ['jest.config.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable' }
    }
  },
  prettier
);
